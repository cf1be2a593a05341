"""newsevents: classify the events (visit, treaty, strike, sentence, sanction) that news sentences report."""

__version__ = "0.1.0"
