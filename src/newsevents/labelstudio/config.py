"""The names ``labels/config.xml`` gives its controls, and the model version of first-pass labels.

Shared by what we send (``tasks``) and what we read back (``export``), which otherwise need
nothing from each other.
"""

#: Name of the <Choices> block in labels/config.xml; results from other controls are ignored.
CONTROL = "events"
#: Name of the <TextArea> where an annotator says why a pre-annotation was changed.
REASON = "reason"
#: model_version of the labels a source arrived with (newswire's first-pass labels): imported as
#: predictions for review, never as annotations.
FIRST_PASS = "first-pass"
