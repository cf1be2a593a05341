"""Every folder and file name the stages and the CLI use, relative to the project root.

``dvc.yaml`` names the same paths (``tests/test_dvc_deps.py`` checks that they agree), and CLI
options default to them, so no path string is buried in a function.
"""

from __future__ import annotations

from pathlib import Path

PARAMS_FILE = Path("params.yaml")

# Raw text and stories.
SEEDS_DIR = Path("seeds")
STORIES = SEEDS_DIR / "stories.yaml"  # articles of one story share a fold
HELDOUT_FAMILIES = SEEDS_DIR / "heldout" / "families.jsonl"  # which held-out sentences are hard negatives

# Labels: the annotation contract and the Label Studio exports (committed).
LABELS_DIR = Path("labels")
ANNOTATIONS_DIR = LABELS_DIR / "annotations"
AUTHORED_DIR = LABELS_DIR / "authored"
LABEL_CONFIG = LABELS_DIR / "config.xml"
GUIDELINES = LABELS_DIR / "guidelines.md"

# prepare → training/
TRAINING_DIR = Path("training")
EXAMPLES = TRAINING_DIR / "examples.jsonl"
DATA_CARD = TRAINING_DIR / "data_card.json"

# train → models/
MODELS_DIR = Path("models")
MODEL_DIR = MODELS_DIR / "event-classifier"
CV_PREDICTIONS = MODELS_DIR / "cv_predictions.jsonl"  # out-of-fold scores of every real sentence of the folds
HELDOUT_PREDICTIONS = MODELS_DIR / "heldout_predictions.jsonl"  # the final model's scores of the held-out source
LIVE_DIR = MODELS_DIR / "live"  # DVCLive logs: live/folds/fold-<k>/, live/final/

# export → models/event-classifier-onnx/ and its agreement with the torch model
ONNX_DIR = MODELS_DIR / "event-classifier-onnx"

# evaluate, review, dashboard → eval/
EVAL_DIR = Path("eval")
METRICS = EVAL_DIR / "metrics.json"
REPORT = EVAL_DIR / "report.json"
ERRORS = EVAL_DIR / "errors.jsonl"
PLOTS_DIR = EVAL_DIR / "plots"
ONNX_AGREEMENT = EVAL_DIR / "onnx_agreement.json"
LABEL_ISSUES = EVAL_DIR / "label_issues.jsonl"
LEARNING_CURVE = EVAL_DIR / "learning_curve.json"  # out-of-fold macro-F1 per share of the real training data
LEARNING_CURVE_PLOT = PLOTS_DIR / "learning_curve.json"  # the same points as a DVC plot
DASHBOARD = EVAL_DIR / "dashboard.html"

# newsevents serve: the log of the training jobs Label Studio triggers (git-ignored)
TRAINING_LOG = Path("logs") / "training.log"
