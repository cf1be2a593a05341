"""newsevents: classify the events (visit, treaty, strike, sentence, sanction) that news sentences report.

``from newsevents import EventClassifier`` is the Python API. It is resolved on first use, so
importing the package loads no model library (torch, transformers, onnxruntime), and the
training stages, which import the package but never the API, do not depend on its modules.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public names and the module that defines each, imported when the name is first used.
_LAZY = {"EventClassifier": "newsevents.classifier", "Prediction": "newsevents.classifier",
         "ArticlePrediction": "newsevents.classifier", "ModelError": "newsevents.model"}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'newsevents' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
