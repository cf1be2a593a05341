"""The train stage: out-of-fold scores for every real sentence, thresholds, then the final model.

Every real sentence is scored by a model that never saw its group (article, story or source
page); authored sentences are always in training and never scored. Per-type thresholds are
tuned on those out-of-fold scores; the final model is then trained on everything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from newsevents import __version__, atomic, model_card
from newsevents.datacard import check_pair
from newsevents.inference import predict_scores
from newsevents.jsonl import read_records
from newsevents.live import live_callback
from newsevents.metrics import headline, rounded, system_report
from newsevents.model import new_classifier, resolve_base_model, save_classifier
from newsevents.params import Params, TrainParams
from newsevents.schema import Example, ScoredRecord, label_matrix, score_matrix
from newsevents.thresholds import tune_thresholds, with_nested_thresholds, with_thresholds

logger = logging.getLogger(__name__)

def pos_weights(y: np.ndarray, how: str) -> np.ndarray:
    """Weight of a positive per type: sqrt(negatives/positives) softens rare-type imbalance."""
    if how == "none":
        return np.ones(y.shape[1], dtype=np.float32)
    pos = y.sum(axis=0)
    neg = len(y) - pos
    return np.sqrt(np.where(pos > 0, neg / np.maximum(pos, 1), 1.0)).astype(np.float32)


def fit(
    rows: Sequence[Example], params: TrainParams, seed: int, live_dir: Path | None = None,
    eval_rows: Sequence[Example] = (),
) -> tuple[Any, Any]:
    """Fine-tune a fresh classifier on ``rows``; returns (model, tokenizer).

    Seeds are fixed and torch runs deterministic kernels, so the same rows and params give the
    same weights. With ``live_dir`` the run is logged by DVCLive (loss, and eval loss per epoch
    when ``eval_rows`` are given).
    """
    import torch
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments, enable_full_determinism

    torch.set_num_threads(params.threads)
    enable_full_determinism(seed)
    model, tokenizer = new_classifier(params.base_model)
    if params.freeze_embeddings:
        model.base_model.embeddings.word_embeddings.weight.requires_grad_(False)

    def encode(rs: Sequence[Example]) -> Dataset:
        ds = Dataset.from_dict({"text": [r.text for r in rs], "labels": label_matrix(r.labels for r in rs).tolist()})
        return ds.map(
            lambda b: tokenizer(b["text"], truncation=True, max_length=params.max_length),
            batched=True, remove_columns=["text"],
        )

    y = label_matrix(r.labels for r in rows)
    weight = torch.tensor(pos_weights(y, params.pos_weight))

    def loss(outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
        return torch.nn.functional.binary_cross_entropy_with_logits(
            outputs.logits, labels.float(), pos_weight=weight
        )

    callbacks = [live_callback(live_dir)] if live_dir is not None else []
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="newsevents-train-"),  # nothing is saved there (save_strategy="no")
        num_train_epochs=params.epochs,
        per_device_train_batch_size=params.batch_size,
        per_device_eval_batch_size=64,
        learning_rate=params.learning_rate,
        weight_decay=params.weight_decay,
        warmup_steps=params.warmup_ratio,  # a float below 1 is a share of all steps
        lr_scheduler_type="linear",
        seed=seed,
        data_seed=seed,
        full_determinism=True,
        eval_strategy="epoch" if eval_rows else "no",
        logging_strategy="epoch",
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        dataloader_num_workers=0,
        train_sampling_strategy="group_by_length",  # similar lengths per batch: less padding
        disable_tqdm=False,
    )
    trainer = Trainer(
        model=model, args=args, train_dataset=encode(rows),
        eval_dataset=encode(eval_rows) if eval_rows else None,
        processing_class=tokenizer, compute_loss_func=loss, callbacks=callbacks,
    )
    trainer.train()
    if callbacks:
        callbacks[0].live.end()
    model.eval()
    return model, tokenizer


class FineTuned:
    """The default recipe's result: the fine-tuned classifier and its tokenizer."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model, self.tokenizer = model, tokenizer

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        return predict_scores(self.model, self.tokenizer, texts)

    def save(self, directory: Path, thresholds: dict[str, float], meta: dict[str, Any], card: str) -> None:
        save_classifier(directory, self.model, self.tokenizer, thresholds, meta, card)


def fit_scorer(rows: Sequence[Example], params: TrainParams, seed: int, live_dir: Path | None = None,
               eval_rows: Sequence[Example] = ()) -> Any:
    """A trained model with ``scores(texts)`` and ``save(...)``, by ``params.method``: ``finetune``
    (the default) or ``setfit`` (contrastive body tuning, ``setfit_recipe``)."""
    if params.method == "setfit":
        from newsevents.setfit_recipe import fit_setfit

        return fit_setfit(rows, params, resolve_base_model(params.base_model), seed, live_dir)
    return FineTuned(*fit(rows, params, seed, live_dir, eval_rows))


def cross_validate(
    rows: Sequence[Example], params: TrainParams, seed: int, live_root: Path | None = None,
    subsample: Callable[[list[Example]], list[Example]] | None = None,
) -> list[ScoredRecord]:
    """Out-of-fold scores for every example of the folds, with thresholds tuned on the other folds.

    ``rows`` are the trainable examples (fold examples and training-only ones); ``subsample``
    picks each fold model's training rows from the other folds' (the learning curve)."""
    folds = sorted({r.fold for r in rows if r.in_cv})
    scored: list[ScoredRecord] = []
    for k in folds:
        train_rows = [r for r in rows if r.fold != k]
        if subsample is not None:
            train_rows = subsample(train_rows)
        test_rows = [r for r in rows if r.fold == k]
        logger.info("fold %d/%d: training on %d sentences, scoring %d", k + 1, len(folds), len(train_rows), len(test_rows))
        live = live_root / "folds" / f"fold-{k}" if live_root else None
        scorer = fit_scorer(train_rows, params, seed, live, eval_rows=test_rows)
        scores = scorer.scores([r.text for r in test_rows])
        scored += [ScoredRecord.scored(r, s) for r, s in zip(test_rows, scores)]
    return with_nested_thresholds(scored)


@dataclass
class Trained:
    """The train stage's result: out-of-fold records, the final thresholds and the final model,
    and the final model's records of the held-out source."""

    scored: list[ScoredRecord]
    thresholds: dict[str, float]
    scorer: Any  # FineTuned, or setfit_recipe.SetFitScorer
    heldout: list[ScoredRecord]


def train(rows: Sequence[Example], params: TrainParams, seed: int, live_root: Path | None = None) -> Trained:
    """Cross-validate, tune the thresholds on every out-of-fold score, train the final model on
    every trainable row, and score the held-out source with it (nothing is tuned there)."""
    trainable = [r for r in rows if r.trainable]
    if not any(r.in_cv for r in trainable):
        raise ValueError("no real (seed or newswire) sentences to evaluate on")
    scored = cross_validate(trainable, params, seed, live_root=live_root)
    thresholds = tune_thresholds(label_matrix(r.labels for r in scored), score_matrix(r.scores for r in scored))
    logger.info("final model: training on all %d trainable sentences", len(trainable))
    scorer = fit_scorer(trainable, params, seed, live_dir=live_root / "final" if live_root else None)
    held = [r for r in rows if not r.trainable]
    scores = scorer.scores([r.text for r in held])
    heldout = [with_thresholds(ScoredRecord.scored(r, s), thresholds) for r, s in zip(held, scores)]
    return Trained(scored, thresholds, scorer, heldout)


def model_version(examples_bytes: bytes, params: Params) -> str:
    """Package version + a hash of the training data and the recipe (not machine settings)."""
    recipe = {"seed": params.base.seed, "train": params.train.recipe()}
    digest = hashlib.sha256(examples_bytes + json.dumps(recipe, sort_keys=True).encode())
    return f"{__version__}+{digest.hexdigest()[:10]}"


def main(examples: Path, data_card: Path, model_dir: Path, cv_predictions: Path, heldout_predictions: Path,
         live_dir: Path, params: Params) -> Trained:
    """Read the prepare stage's output, train, save the model folder and the out-of-fold records."""
    rows = read_records(examples, Example.from_json)
    card = json.loads(data_card.read_text(encoding="utf-8"))
    check_pair(examples, card, data_card)
    result = train(rows, params.train, params.base.seed, live_root=live_dir)
    meta = {
        "version": model_version(examples.read_bytes(), params),
        "base_model": params.train.base_model,
        "params": {"base": {"seed": params.base.seed}, "train": params.train.recipe()},
        "trained_on": {s: c["sentences"] for s, c in card["per_source"].items()},
    }
    report = system_report(result.scored)
    text = model_card.render(meta, result.thresholds, card, rounded(report), headline({"model": report})["model"],
                             model_card.base_license(resolve_base_model(params.train.base_model)))
    result.scorer.save(model_dir, result.thresholds, meta, text)
    atomic.write_jsonl(cv_predictions, (r.to_json() for r in result.scored))
    atomic.write_jsonl(heldout_predictions, (r.to_json() for r in result.heldout))
    logger.info("saved %s (version %s) and %s", model_dir, meta["version"], cv_predictions)
    return result
