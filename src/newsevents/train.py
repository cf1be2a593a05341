"""Fine-tuning with ``transformers.Trainer``: out-of-fold predictions, thresholds, final model.

Every real sentence is scored by a model that never saw its group (article, story or source
page); authored sentences are always in training and never scored. Per-type thresholds are
tuned on those out-of-fold scores; the final model is then trained on everything.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from newsevents.params import Params, TrainParams
from newsevents.predict import predict_scores
from newsevents.schema import EVENT_TYPES, label_matrix, score_matrix

logger = logging.getLogger(__name__)

MODEL_NAME = "event-classifier"
CV_PREDICTIONS = "cv_predictions.jsonl"  # out-of-fold scores of every real sentence
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)
DEFAULT_THRESHOLD = 0.5


#: Trainer log keys that change between identical runs: wall-clock speeds and FLO counts.
_WALL_CLOCK = re.compile(r"runtime|per_second|flos")


def live_callback(live_dir: Path) -> Any:
    """A DVCLive callback for the Trainer that leaves out what differs between identical runs
    (the temporary output folder, speeds, FLOs), so rerunning an unchanged pipeline gives no
    git diff in the committed logs."""
    from dvclive import Live
    from transformers.integrations import DVCLiveCallback

    class ReproducibleLive(DVCLiveCallback):
        def setup(self, args: Any, state: Any, model: Any) -> None:
            self._initialized = True
            if state.is_world_process_zero:
                scratch = str(args.output_dir)
                self.live.log_params({k: v for k, v in args.to_dict().items() if not str(v).startswith(scratch)})

        def on_log(self, args: Any, state: Any, control: Any, model: Any = None, logs: Any = None, **kw: Any) -> None:
            logs = {k: v for k, v in (logs or {}).items() if not _WALL_CLOCK.search(k)}
            super().on_log(args, state, control, model=model, logs=logs, **kw)

    return ReproducibleLive(live=Live(str(live_dir), dvcyaml=None, save_dvc_exp=False))


def pos_weights(y: np.ndarray, how: str) -> np.ndarray:
    """Weight of a positive per type: sqrt(negatives/positives) softens rare-type imbalance."""
    if how == "none":
        return np.ones(y.shape[1], dtype=np.float32)
    pos = y.sum(axis=0)
    neg = len(y) - pos
    return np.sqrt(np.where(pos > 0, neg / np.maximum(pos, 1), 1.0)).astype(np.float32)


def tune_thresholds(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Per type, the grid threshold with the best F1; 0.5 where the type has no positive.

    Ties go to the threshold closest to 0.5, so a flat F1 curve does not drift to an extreme.
    """
    thresholds = {}
    for j, t in enumerate(EVENT_TYPES):
        if y[:, j].sum() == 0:
            thresholds[t] = DEFAULT_THRESHOLD
            continue
        best = max(THRESHOLD_GRID, key=lambda th: (_f1(y[:, j], scores[:, j] >= th), -abs(th - 0.5)))
        thresholds[t] = float(best)
    return thresholds


def _f1(truth: np.ndarray, pred: np.ndarray) -> float:
    tp = float(np.sum((truth == 1) & pred))
    denom = float(np.sum(truth == 1) + np.sum(pred))
    return 2 * tp / denom if denom else 0.0


def fit(
    rows: Sequence[dict[str, Any]], params: TrainParams, seed: int, live_dir: Path | None = None,
    eval_rows: Sequence[dict[str, Any]] = (),
) -> tuple[Any, Any]:
    """Fine-tune a fresh classifier on ``rows``; returns (model, tokenizer).

    Seeds are fixed and torch runs deterministic kernels, so the same rows and params give the
    same weights. With ``live_dir`` the run is logged by DVCLive (loss, and eval loss per epoch
    when ``eval_rows`` are given).
    """
    import torch
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments, enable_full_determinism

    from newsevents.model import new_classifier

    torch.set_num_threads(params.threads)
    enable_full_determinism(seed)
    model, tokenizer = new_classifier(params.base_model)
    if params.freeze_embeddings:
        model.base_model.embeddings.word_embeddings.weight.requires_grad_(False)

    def encode(rs: Sequence[dict[str, Any]]) -> Dataset:
        ds = Dataset.from_dict({"text": [r["text"] for r in rs], "labels": label_matrix(r["labels"] for r in rs).tolist()})
        return ds.map(
            lambda b: tokenizer(b["text"], truncation=True, max_length=params.max_length),
            batched=True, remove_columns=["text"],
        )

    y = label_matrix(r["labels"] for r in rows)
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


def cross_validate(
    rows: Sequence[dict[str, Any]], params: TrainParams, seed: int, live_root: Path | None = None
) -> list[dict[str, Any]]:
    """Out-of-fold scores for every row that has a fold, with thresholds tuned on the other folds.

    Returns one record per scored row: id, fold, source, group, text, gold labels, scores, the
    thresholds used for it (tuned without its fold) and the labels they give.
    """
    folds = sorted({r["fold"] for r in rows if r["fold"] is not None})
    scored: list[dict[str, Any]] = []
    for k in folds:
        train_rows = [r for r in rows if r["fold"] != k]
        test_rows = [r for r in rows if r["fold"] == k]
        logger.info("fold %d/%d: training on %d sentences, scoring %d", k + 1, len(folds), len(train_rows), len(test_rows))
        live = live_root / "folds" / f"fold-{k}" if live_root else None
        model, tokenizer = fit(train_rows, params, seed, live, eval_rows=test_rows)
        scored += score_records(test_rows, predict_scores(model, tokenizer, [r["text"] for r in test_rows]))
    return with_nested_thresholds(scored)


def score_records(rows: Sequence[dict[str, Any]], scores: np.ndarray) -> list[dict[str, Any]]:
    """Example rows with their per-type scores: what every system's evaluation starts from."""
    return [
        {**{k: r[k] for k in ("id", "fold", "source", "group", "text", "labels")},
         "scores": {t: round(float(v), 6) for t, v in zip(EVENT_TYPES, s)}}
        for r, s in zip(rows, scores)
    ]


def with_nested_thresholds(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each scored record the thresholds tuned on the *other* folds and the labels they give.

    Tuning on the fold being evaluated would flatter every system; this keeps each fold's
    metrics honest. Used for the model and for every baseline alike.
    """
    for k in sorted({r["fold"] for r in records}):
        others = [r for r in records if r["fold"] != k]
        if others:
            th = tune_thresholds(label_matrix(r["labels"] for r in others), score_matrix(r["scores"] for r in others))
        else:
            th = {t: DEFAULT_THRESHOLD for t in EVENT_TYPES}
        for r in records:
            if r["fold"] == k:
                r["thresholds"] = th
                r["predicted"] = [t for t in EVENT_TYPES if r["scores"][t] >= th[t]]
    return records


def train_stage(data_dir: Path, out_dir: Path, params: Params) -> Path:
    """The DVC train stage: cross-validate, tune thresholds, train and save the final model."""
    import hashlib

    from newsevents import __version__, atomic
    from newsevents.evaluate import system_report
    from newsevents.model import render_model_card, save_classifier

    examples_path = data_dir / "examples.jsonl"
    rows = [json.loads(line) for line in examples_path.read_text(encoding="utf-8").splitlines()]
    data_card = json.loads((data_dir / "data_card.json").read_text(encoding="utf-8"))
    if not any(r["fold"] is not None for r in rows):
        raise ValueError(f"{examples_path}: no real (seed or newswire) sentences to evaluate on")
    seed, tp = params.base.seed, params.train
    scored = cross_validate(rows, tp, seed, live_root=out_dir / "live")
    thresholds = tune_thresholds(label_matrix(r["labels"] for r in scored), score_matrix(r["scores"] for r in scored))
    logger.info("final model: training on all %d sentences", len(rows))
    model, tokenizer = fit(rows, tp, seed, live_dir=out_dir / "live" / "final")

    params_dict = dataclasses.asdict(params)
    digest = hashlib.sha256(examples_path.read_bytes() + json.dumps(params_dict, sort_keys=True).encode())
    meta = {
        "version": f"{__version__}+{digest.hexdigest()[:10]}",
        "base_model": tp.base_model,
        "params": params_dict,
        "trained_on": {s: c["sentences"] for s, c in data_card["per_source"].items()},
        "thresholds": thresholds,
    }
    card = render_model_card(meta, data_card, system_report(scored))
    save_classifier(out_dir / MODEL_NAME, model, tokenizer, thresholds, meta, card)
    atomic.write_jsonl(out_dir / CV_PREDICTIONS, scored)
    logger.info("saved %s (version %s) and %s", out_dir / MODEL_NAME, meta["version"], out_dir / CV_PREDICTIONS)
    return out_dir / MODEL_NAME
