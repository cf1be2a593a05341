"""The model folder's README.md: a Hugging Face model card rendered from a Jinja2 template.

The front matter is real model-card metadata (``huggingface_hub.ModelCardData``): the base
model's licence, and ``model-index`` results with the same out-of-fold numbers as
``eval/metrics.json``'s ``model`` entry, so the hub and ``dvc metrics show`` agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from newsevents.schema import EVENT_TYPES

TEMPLATE = "model_card.md.j2"


def base_license(base_model_path: str) -> str | None:
    """The licence in the base model's own card (``license:`` in its front matter), if it has one."""
    from huggingface_hub import ModelCard

    card = Path(base_model_path) / "README.md"
    if not card.is_file():
        return None
    return ModelCard.load(card).data.license


def render(meta: Mapping[str, Any], thresholds: Mapping[str, float], data_card: Mapping[str, Any],
           report: Mapping[str, Any], metrics: Mapping[str, Any], license: str | None) -> str:
    """The card's markdown.

    Args:
        meta: the model folder's meta (version, base model, params, trained_on).
        thresholds: per-type thresholds of the final model.
        data_card: the prepare stage's data card (counts per source and type).
        report: ``metrics.system_report`` of the out-of-fold records (pooled, per type, per fold, per source).
        metrics: ``metrics.headline``'s entry for the model, as in ``eval/metrics.json``.
        license: the base model's licence, which a fine-tune inherits.
    """
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    name = f"newsevents event classifier {meta['version']}"
    results = [
        EvalResult(task_type="text-classification", task_name="Multi-label news event classification",
                   dataset_type="newsevents", dataset_name=f"newsevents out-of-fold, {part}",
                   dataset_split=part, metric_type="f1", metric_name=f"macro-F1 ({part})",
                   metric_value=entry["macro_f1"], metric_config="macro")
        for part, entry in metrics.items()
    ]
    data = ModelCardData(
        model_name=name, base_model=meta["base_model"], license=license, language="en",
        library_name="transformers", pipeline_tag="text-classification",
        tags=["multi-label", "news", "event-extraction"], eval_results=results,
    )
    template = files("newsevents").joinpath("templates", TEMPLATE).read_text(encoding="utf-8")
    card = ModelCard.from_template(
        data, template_str=template, name=name, meta=meta, types=EVENT_TYPES, thresholds=thresholds,
        data_card=data_card, report=report, train=meta["params"]["train"], seed=meta["params"]["base"]["seed"],
    )
    return str(card)
