"""The one inference path: texts → per-type probabilities → labels above their thresholds.

Used by evaluation, by the ``predict`` command and by pre-annotation, so all three agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from newsevents.schema import EVENT_TYPES, Article, Sentence

MAX_LENGTH = 128  # tokens; news sentences average ~35, so this truncates only run-ons


def length_sorted_batches(texts: Sequence[str], batch_size: int) -> Iterator[list[int]]:
    """Indices of ``texts`` in batches of similar length, so little of each batch is padding."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def predict_scores(
    model: Any, tokenizer: Any, texts: Sequence[str], batch_size: int = 32, max_length: int = MAX_LENGTH
) -> np.ndarray:
    """Sigmoid probabilities, shape (len(texts), len(EVENT_TYPES)), rows in input order.

    Texts are sorted by length so each batch pads to a similar length, and run under
    ``torch.inference_mode()``.
    """
    import torch

    scores = np.zeros((len(texts), len(EVENT_TYPES)), dtype=np.float32)
    model.eval()
    with torch.inference_mode():
        for idx in length_sorted_batches(texts, batch_size):
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
    model.eval()
    with torch.inference_mode():
        for idx in length_sorted_batches(texts, batch_size):
            batch = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                              max_length=MAX_LENGTH, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out[idx] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    return out


def uncertainty(scores: np.ndarray, thresholds: dict[str, float]) -> np.ndarray:
    """Per row, the smallest distance of any type's score to its threshold: 0 = a coin flip.

    The measure behind uncertainty sampling: the sentence whose closest call is closest is the
    one an annotator's answer teaches the model most about.
    """
    cut = np.array([thresholds[t] for t in EVENT_TYPES])
    return np.abs(scores - cut).min(axis=1) if len(scores) else np.zeros(0)


def apply_thresholds(scores: np.ndarray, thresholds: dict[str, float]) -> list[tuple[str, ...]]:
    """The event types whose probability reaches the type's threshold, per row."""
    cut = np.array([thresholds[t] for t in EVENT_TYPES])
    return [tuple(t for t, hit in zip(EVENT_TYPES, row) if hit) for row in scores >= cut]


class TorchBackend:
    """The fine-tuned model run by PyTorch, as saved by the train stage."""

    name = "torch"

    def __init__(self, classifier: Any, batch_size: int = 32, threads: int | None = None) -> None:
        import torch

        if threads:
            torch.set_num_threads(threads)
        self.classifier = classifier
        self.thresholds = classifier.thresholds
        self.version = classifier.version
        self.batch_size = batch_size

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        c = self.classifier
        return predict_scores(c.model, c.tokenizer, texts, batch_size=self.batch_size)


class OnnxBackend:
    """The same model exported to ONNX (optionally int8-quantised), run by ONNX Runtime."""

    name = "onnx"

    def __init__(self, directory: Path, batch_size: int = 32, threads: int | None = None) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        from newsevents.model import ModelError, read_meta

        meta = read_meta(directory)
        onnx_file = directory / ONNX_FILE
        if not onnx_file.is_file():
            raise ModelError(f"{directory}: no {ONNX_FILE} (create it with `newsevents export-onnx`)")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types
            raise ModelError(f"{onnx_file}: cannot load ({str(err).splitlines()[0]})") from None
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        self.thresholds = {t: float(meta["thresholds"][t]) for t in EVENT_TYPES}
        self.version = str(meta.get("version", "unversioned"))
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.batch_size = batch_size

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(EVENT_TYPES)), dtype=np.float32)
        for idx in length_sorted_batches(texts, self.batch_size):
            batch = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                   max_length=MAX_LENGTH, return_tensors="np")
            feed = {k: v.astype(np.int64) for k, v in batch.items() if k in self.inputs}
            logits = self.session.run(None, feed)[0]
            out[idx] = 1.0 / (1.0 + np.exp(-logits))
        return out


ONNX_FILE = "model.onnx"
BACKENDS = ("torch", "onnx")


def load_backend(directory: Path, backend: str = "torch", batch_size: int = 32, threads: int | None = None) -> Any:
    """The model in ``directory`` behind one ``scores(texts)`` interface."""
    from newsevents.model import load_classifier

    if backend == "onnx":
        return OnnxBackend(directory, batch_size, threads)
    return TorchBackend(load_classifier(directory), batch_size, threads)


def scaled(thresholds: dict[str, float], scale: float) -> dict[str, float]:
    """Thresholds times ``scale`` (below 1: more recall, above 1: more precision), kept in [0, 1]."""
    return {t: min(1.0, max(0.0, v * scale)) for t, v in thresholds.items()}


def predict_articles(
    backend: Any, articles: Iterable[Article], unit: str = "article", threshold_scale: float = 1.0,
    chunk_sentences: int = 512,
) -> Iterator[tuple[Article, list[dict[str, Any]]]]:
    """Rows per article: sentence location, text, events above threshold, every type's score.

    Sentences of several articles are scored together in chunks of about ``chunk_sentences``
    (enough to fill length-sorted batches), so memory stays flat however long the input.
    """
    from newsevents.corpus import segment

    thresholds = scaled(backend.thresholds, threshold_scale)
    model_name = f"event-classifier {backend.version}"
    pending: list[tuple[Article, list[Sentence]]] = []
    size = 0

    def flush() -> Iterator[tuple[Article, list[dict[str, Any]]]]:
        texts = [s.text for _, sents in pending for s in sents]
        scores = backend.scores(texts) if texts else np.zeros((0, len(EVENT_TYPES)))
        labels = apply_thresholds(scores, thresholds)
        i = 0
        for article, sents in pending:
            rows = []
            for s in sents:
                rows.append({
                    "doc_id": article.id, "sentence_id": s.id, "start": s.start, "end": s.end, "text": s.text,
                    "events": list(labels[i]),
                    "scores": {t: round(float(v), 4) for t, v in zip(EVENT_TYPES, scores[i])},
                    "model": model_name,
                })
                i += 1
            yield article, rows

    for article in articles:
        if unit == "sentence":
            text = article.text.strip()
            start = article.text.index(text)
            sents = [Sentence(article.id, 0, start, start + len(text), text)]
        else:
            sents = segment(article)
        pending.append((article, sents))
        size += len(sents)
        if size >= chunk_sentences:
            yield from flush()
            pending, size = [], 0
    if pending:
        yield from flush()


def summarize(doc_id: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One article: the event types found, how many sentences report each, and the best one."""
    counts = {t: sum(t in r["events"] for r in rows) for t in EVENT_TYPES}
    top = {}
    for t in EVENT_TYPES:
        hits = [r for r in rows if t in r["events"]]
        if hits:
            best = max(hits, key=lambda r: r["scores"][t])
            top[t] = {"sentence_id": best["sentence_id"], "score": best["scores"][t], "text": best["text"]}
    return {"doc_id": doc_id, "sentences": len(rows), "events": [t for t in EVENT_TYPES if counts[t]],
            "counts": counts, "top": top}
