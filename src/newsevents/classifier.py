"""The model as used from code: ``EventClassifier.load(folder)``, then ``predict`` or ``predict_articles``.

Which model runs is decided in one place (``resolve``): a folder with ``model.onnx`` runs on ONNX
Runtime; a torch folder runs on ONNX Runtime too when the export stage's folder beside it
(``<name>-onnx``) holds an export of the same model version, else on PyTorch. ``newsevents
predict`` and ``newsevents ls push --predictions`` use the same object, so code, command and
pre-annotation see the same labels. Results are typed records; the command writes them as the
rows documented in docs/predict-row.schema.json and docs/summary-row.schema.json.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from newsevents.corpus import segment
from newsevents.backends import load_backend
from newsevents.inference import Backend
from newsevents.onnx_backend import ONNX_FILE
from newsevents.model import ModelError, peek_version
from newsevents.outputs import SCHEMA_VERSION
from newsevents.paths import MODEL_DIR
from newsevents.schema import EVENT_TYPES, Article, Sentence
from newsevents.thresholds import apply_thresholds, scaled

logger = logging.getLogger(__name__)

#: ``--backend`` choices: auto is ONNX when an export of the model is there, else torch.
BACKEND_CHOICES = ("auto", "onnx", "torch")
ONNX_SUFFIX = "-onnx"  # the export stage's folder: models/event-classifier-onnx beside models/event-classifier


def _version(directory: Path) -> str | None:
    try:
        return peek_version(directory)
    except (OSError, ValueError):
        return None


def onnx_sibling(directory: Path) -> Path:
    return directory.with_name(directory.name + ONNX_SUFFIX)


def resolve(directory: Path, backend: str = "auto") -> tuple[Path, str]:
    """(folder, backend) that ``load`` runs for ``directory`` and ``backend``.

    An ONNX folder (it holds model.onnx) is run as given. A torch folder uses its ``-onnx``
    sibling only when that export's newsevents.json names the same model version, so an export
    left over from an earlier training is never mistaken for the current model.
    """
    if backend not in BACKEND_CHOICES:
        raise ValueError(f"unknown backend {backend!r}; expected one of {list(BACKEND_CHOICES)}")
    if backend == "torch" or (directory / ONNX_FILE).is_file():
        return directory, backend if backend != "auto" else "onnx"
    sibling = onnx_sibling(directory)
    if (sibling / ONNX_FILE).is_file():
        exported, current = _version(sibling), _version(directory)
        if exported is not None and exported == current:
            return sibling, "onnx"
        stale = (f"{sibling}: an export of model version {exported}, not of {directory}'s "
                 f"{current}; re-run `newsevents export-onnx`")
        if backend == "onnx":
            raise ModelError(stale)
        logger.warning("%s; using the torch model", stale)
    return directory, "onnx" if backend == "onnx" else "torch"  # the ONNX backend says what is missing


@dataclass(frozen=True)
class Prediction:
    """One text: the event types above threshold and every type's probability."""

    text: str
    events: tuple[str, ...]
    scores: dict[str, float]


@dataclass(frozen=True)
class SentencePrediction:
    """One sentence of an article, located in it (``article.text[start:end] == text``)."""

    doc_id: str
    sentence_id: str
    start: int
    end: int
    text: str
    events: tuple[str, ...]
    scores: dict[str, float]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SentencePrediction:
        return cls(row["doc_id"], row["sentence_id"], row["start"], row["end"], row["text"], tuple(row["events"]),
                   dict(row["scores"]))


@dataclass(frozen=True)
class TopSentence:
    sentence_id: str
    score: float
    text: str


@dataclass(frozen=True)
class ArticleSummary:
    """An article: the types found, how many sentences report each, and the best sentence of each."""

    doc_id: str
    sentences: int
    events: tuple[str, ...]
    counts: dict[str, int]
    top: dict[str, TopSentence]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ArticleSummary:
        return cls(row["doc_id"], row["sentences"], tuple(row["events"]), dict(row["counts"]),
                   {t: TopSentence(**v) for t, v in row["top"].items()})


@dataclass(frozen=True)
class ArticlePrediction:
    doc_id: str
    sentences: tuple[SentencePrediction, ...]
    summary: ArticleSummary


def run_settings(backend: Backend, threshold_scale: float) -> dict[str, Any]:
    """What makes a row what it is, besides its text: written into every row."""
    thresholds = scaled(backend.thresholds, threshold_scale)
    return {"schema_version": SCHEMA_VERSION, "model": f"event-classifier {backend.version}",
            "backend": backend.name, "thresholds": {t: round(float(thresholds[t]), 6) for t in EVENT_TYPES}}


def sentences_of(article: Article, unit: str = "article") -> list[Sentence]:
    """The sentences to score: the segmenter's, or (``unit="sentence"``) the whole text as one."""
    if unit == "sentence":
        text = article.text.strip()
        start = article.text.index(text)
        return [Sentence(article.id, 0, start, start + len(text), text)]
    return segment(article)


def predict_articles(
    backend: Backend, articles: Iterable[Article], unit: str = "article", threshold_scale: float = 1.0,
    chunk_sentences: int = 512, on_problem: Callable[[str], None] | None = None,
) -> Iterator[tuple[Article, list[dict[str, Any]]]]:
    """Rows per article (see ``predict_segmented``), segmenting each article as it comes."""
    return predict_segmented(backend, ((a, sentences_of(a, unit)) for a in articles), threshold_scale,
                             chunk_sentences, on_problem)


def predict_segmented(
    backend: Backend, documents: Iterable[tuple[Article, list[Sentence]]], threshold_scale: float = 1.0,
    chunk_sentences: int = 512, on_problem: Callable[[str], None] | None = None,
) -> Iterator[tuple[Article, list[dict[str, Any]]]]:
    """Rows per already segmented article: sentence location, text, events above threshold, every
    type's score, and the settings that made them (schema version, model version, backend, thresholds).

    Sentences of several articles are scored together in chunks of about ``chunk_sentences``
    (enough to fill length-sorted batches), so memory stays flat however long the input. If a
    chunk fails, its articles are scored one by one, so one bad document never costs the others
    (with ``on_problem`` it is reported and left out; without, the error is raised). Segmenting
    is left to the caller so that it can run elsewhere (``newsevents predict-dataset`` segments
    in CPU tasks and scores in model-holding actors).
    """
    settings = run_settings(backend, threshold_scale)
    thresholds = settings["thresholds"]
    pending: list[tuple[Article, list[Sentence]]] = []
    size = 0

    def rows_of(part: list[tuple[Article, list[Sentence]]]) -> Iterator[tuple[Article, list[dict[str, Any]]]]:
        texts = [s.text for _, sents in part for s in sents]
        scores = backend.scores(texts) if texts else np.zeros((0, len(EVENT_TYPES)))
        labels = apply_thresholds(scores, thresholds)
        i = 0
        for article, sents in part:
            rows = []
            for s in sents:
                rows.append({
                    "doc_id": article.id, "sentence_id": s.id, "start": s.start, "end": s.end, "text": s.text,
                    "events": list(labels[i]),
                    "scores": {t: round(float(v), 4) for t, v in zip(EVENT_TYPES, scores[i])},
                    **settings,
                })
                i += 1
            yield article, rows

    def flush() -> Iterator[tuple[Article, list[dict[str, Any]]]]:
        try:
            done = list(rows_of(pending))
        except Exception:  # noqa: BLE001 (any failure of one text must not stop the run)
            if len(pending) == 1 and on_problem is None:
                raise
            done = []
            for one in pending:
                try:
                    done += rows_of([one])
                except Exception as err:  # noqa: BLE001
                    if on_problem is None:
                        raise
                    on_problem(f"{one[0].id}: cannot score ({type(err).__name__}: {str(err)[:120]})")
        yield from done

    for article, sents in documents:
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
    return {"schema_version": SCHEMA_VERSION, "doc_id": doc_id, "sentences": len(rows),
            "events": [t for t in EVENT_TYPES if counts[t]], "counts": counts, "top": top}


class EventClassifier:
    """The trained event classifier: texts in, event types and per-type scores out.

    ``EventClassifier.load("models/event-classifier").predict(["The army shelled the town."])``
    gives one ``Prediction`` per text; the README's "Python API" section shows the rest.
    """

    def __init__(self, backend: Backend, threshold_scale: float = 1.0) -> None:
        self.backend = backend
        self.threshold_scale = threshold_scale
        self.thresholds = scaled(backend.thresholds, threshold_scale)

    @classmethod
    def load(cls, path: str | Path = MODEL_DIR, backend: str = "auto", *, batch_size: int = 32,
             threads: int | None = None, threshold_scale: float = 1.0) -> EventClassifier:
        """The model in ``path`` (a torch folder or an ONNX export); ``backend`` auto, onnx or torch
        (see ``resolve``). Raises ModelError naming the folder when it is not a usable model."""
        directory, name = resolve(Path(path), backend)
        logger.debug("loading %s with the %s backend", directory, name)
        return cls(load_backend(directory, name, batch_size, threads), threshold_scale)

    @property
    def version(self) -> str:
        return self.backend.version

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Per-type probabilities, shape (len(texts), len(EVENT_TYPES)), columns in EVENT_TYPES order."""
        return self.backend.scores(texts)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Each text taken as one sentence: its events and every type's score."""
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts; wrap one text in a list")
        scores = self.scores(list(texts)) if texts else np.zeros((0, len(EVENT_TYPES)))
        labels = apply_thresholds(scores, self.thresholds)
        return [Prediction(text, tuple(events), {t: float(v) for t, v in zip(EVENT_TYPES, row)})
                for text, events, row in zip(texts, labels, scores)]

    def predict_articles(self, articles: Iterable[str | Article], unit: str = "article") -> list[ArticlePrediction]:
        """Each article split into sentences (``unit="sentence"``: taken whole): a row per sentence
        and the article's summary. Plain strings get ids ``doc-0``, ``doc-1``, ..."""
        docs = [a if isinstance(a, Article) else Article(f"doc-{i}", a) for i, a in enumerate(articles)]
        return [ArticlePrediction(article.id, tuple(SentencePrediction.from_row(r) for r in rows),
                                  ArticleSummary.from_row(summarize(article.id, rows)))
                for article, rows in self.rows(docs, unit)]

    def rows(self, articles: Iterable[Article], unit: str = "article",
             on_problem: Callable[[str], None] | None = None) -> Iterator[tuple[Article, list[dict[str, Any]]]]:
        """The rows ``newsevents predict`` writes, per article (see ``predict_articles``)."""
        return predict_articles(self.backend, articles, unit, self.threshold_scale, on_problem=on_problem)

    def settings(self) -> dict[str, Any]:
        """The fields every row carries: schema version, model version, backend, thresholds."""
        return run_settings(self.backend, self.threshold_scale)


__all__ = ["ArticlePrediction", "ArticleSummary", "EventClassifier", "ModelError", "Prediction",
           "SentencePrediction", "TopSentence", "resolve"]
