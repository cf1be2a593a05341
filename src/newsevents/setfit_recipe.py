"""The contrastive recipe (``train.method: setfit``): SetFit tunes the sentence-embedding body on
pairs of sentences, then fits one logistic-regression head per event type on its embeddings.

Fine-tuning learns the types from the words of each sentence; contrastive tuning learns which
sentences report the same events, which is the candidate fix for a model that keys on trigger
words. It is scored on the same folds and thresholds as the default recipe (README, "Choosing
the recipe"). Its model folder is SetFit's own, so the inference backends and the ONNX export
serve only the default recipe.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from newsevents import atomic
from newsevents.live import live_callback
from newsevents.params import TrainParams
from newsevents.schema import EVENT_TYPES, Example, label_matrix


class SetFitScorer:
    """A trained SetFit model behind the same ``scores(texts)`` as a backend."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(EVENT_TYPES)), dtype=np.float32)
        probs = self.model.predict_proba(list(texts), batch_size=64, show_progress_bar=False)
        return np.asarray(probs, dtype=np.float32).reshape(len(texts), len(EVENT_TYPES))

    def save(self, directory: Path, thresholds: dict[str, float], meta: dict[str, Any], card: str) -> None:
        """SetFit's folder (body and heads), with the project's labels, thresholds and card."""
        tmp = atomic.new_dir_beside(directory)
        self.model.save_pretrained(str(tmp))
        (tmp / "newsevents.json").write_text(json.dumps(
            {"labels": list(EVENT_TYPES), "thresholds": thresholds, "method": "setfit", **meta}, indent=2) + "\n",
            encoding="utf-8")
        (tmp / "README.md").write_text(card, encoding="utf-8")
        atomic.replace_dir(tmp, directory)


def fit_setfit(rows: Sequence[Example], params: TrainParams, base_model: str, seed: int,
               live_dir: Path | None = None) -> SetFitScorer:
    """SetFit on ``rows``: ``params.setfit_steps`` steps of contrastive body tuning (batches of
    ``params.batch_size`` pairs, CosineSimilarityLoss), then the heads. With ``live_dir`` the
    body's loss is logged by DVCLive, as the default recipe's is (the train stage's outputs)."""
    import torch
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    torch.set_num_threads(params.threads)
    model = SetFitModel.from_pretrained(base_model, multi_target_strategy="one-vs-rest")
    if params.freeze_embeddings:  # as in the default recipe: a step costs half, rare words drift less
        model.model_body[0].auto_model.embeddings.word_embeddings.weight.requires_grad_(False)
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="newsevents-setfit-"), batch_size=params.batch_size,
        max_steps=params.setfit_steps, body_learning_rate=params.setfit_learning_rate,
        warmup_proportion=params.warmup_ratio, max_length=params.max_length, seed=seed,
        save_strategy="no", report_to="none", show_progress_bar=False,
        logging_steps=max(1, params.setfit_steps // 25),  # 25 points on the loss curve
    )
    data = Dataset.from_dict({"text": [r.text for r in rows],
                              "label": label_matrix((r.labels for r in rows), dtype=np.int64).tolist()})
    callbacks = [live_callback(live_dir)] if live_dir is not None else []
    Trainer(model=model, args=args, train_dataset=data, callbacks=callbacks).train()
    if callbacks:
        callbacks[0].live.end()
    return SetFitScorer(model)
