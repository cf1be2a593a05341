"""Running the model forward: texts → per-type probabilities, and the PyTorch backend.

Every caller (evaluation, ``newsevents predict``, pre-annotation, benchmarks) goes through a
``Backend``, so all of them see the same scores for the same text. The ONNX backend is in
``onnx_backend`` and both are loaded by ``backends.load_backend``: the train stage imports only
this module, so a change to the ONNX path does not rerun training.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from newsevents.schema import EVENT_TYPES

MAX_LENGTH = 128  # tokens; news sentences average ~35, so this truncates only run-ons


class Backend(Protocol):
    """A loaded model behind one interface: its name, version, thresholds and ``scores``."""

    name: str
    version: str
    thresholds: dict[str, float]

    def scores(self, texts: Sequence[str]) -> np.ndarray: ...


def length_sorted_batches(texts: Sequence[str], batch_size: int) -> Iterator[list[int]]:
    """Indices of ``texts`` in batches of similar length, so little of each batch is padding."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def batched(
    texts: Sequence[str], batch_size: int, forward: Callable[[Any], np.ndarray],
    prepare: Callable[[Iterable[list[str]]], Iterable[Any]] | None = None,
) -> np.ndarray:
    """``forward`` over length-sorted batches; per-type probabilities in input order.

    ``prepare`` maps the stream of text batches to what ``forward`` takes (the ONNX backend
    tokenises one batch ahead with it)."""
    out = np.zeros((len(texts), len(EVENT_TYPES)), dtype=np.float32)
    order = list(length_sorted_batches(texts, batch_size))
    batches = ([texts[i] for i in idx] for idx in order)
    for idx, item in zip(order, prepare(batches) if prepare else batches):
        out[idx] = forward(item)
    return out


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def predict_scores(
    model: Any, tokenizer: Any, texts: Sequence[str], batch_size: int = 32, max_length: int = MAX_LENGTH
) -> np.ndarray:
    """Sigmoid probabilities of a torch classifier, shape (len(texts), len(EVENT_TYPES))."""
    import torch

    def forward(batch: list[str]) -> np.ndarray:
        encoded = tokenizer(batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        return torch.sigmoid(model(**encoded).logits).numpy()

    model.eval()
    with torch.inference_mode():
        return batched(texts, batch_size, forward)


class TorchBackend:
    """The fine-tuned model run by PyTorch, as saved by the train stage."""

    name = "torch"

    def __init__(self, directory: Path, batch_size: int = 32, threads: int | None = None) -> None:
        import torch

        from newsevents.model import load_classifier

        if threads:
            torch.set_num_threads(threads)
        self.classifier = load_classifier(directory)
        self.thresholds = self.classifier.thresholds
        self.version = self.classifier.version
        self.batch_size = batch_size

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        c = self.classifier
        return predict_scores(c.model, c.tokenizer, texts, batch_size=self.batch_size)
