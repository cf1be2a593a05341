"""The one inference path: texts → per-type probabilities → labels above their thresholds.

Used by evaluation, by the ``predict`` command and by pre-annotation, so all three agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from newsevents.schema import EVENT_TYPES

MAX_LENGTH = 128  # tokens; news sentences average ~35, so this truncates only run-ons


def predict_scores(
    model: Any, tokenizer: Any, texts: Sequence[str], batch_size: int = 32, max_length: int = MAX_LENGTH
) -> np.ndarray:
    """Sigmoid probabilities, shape (len(texts), len(EVENT_TYPES)), rows in input order.

    Texts are sorted by length so each batch pads to a similar length, and run under
    ``torch.inference_mode()``.
    """
    import torch

    scores = np.zeros((len(texts), len(EVENT_TYPES)), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = tokenizer(
                [texts[i] for i in idx], padding=True, truncation=True, max_length=max_length,
                return_tensors="pt",
            )
            logits = model(**batch).logits
            scores[idx] = torch.sigmoid(logits).numpy()
    return scores


def embed(model: Any, tokenizer: Any, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
    """Mean-pooled, L2-normalised sentence embeddings from an encoder (sentence-transformers style)."""
    import torch

    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                              max_length=MAX_LENGTH, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out[idx] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    return out


def apply_thresholds(scores: np.ndarray, thresholds: dict[str, float]) -> list[tuple[str, ...]]:
    """The event types whose probability reaches the type's threshold, per row."""
    cut = np.array([thresholds[t] for t in EVENT_TYPES])
    return [tuple(t for t, hit in zip(EVENT_TYPES, row) if hit) for row in scores >= cut]
