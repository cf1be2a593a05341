"""Running the model forward: texts → per-type probabilities, by PyTorch or ONNX Runtime.

Every caller (evaluation, ``newsevents predict``, pre-annotation, benchmarks) goes through a
``Backend``, so all of them see the same scores for the same text. The ONNX backend needs only
``onnxruntime`` and ``tokenizers``: it starts without importing torch or transformers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from newsevents.schema import EVENT_TYPES

MAX_LENGTH = 128  # tokens; news sentences average ~35, so this truncates only run-ons
ONNX_FILE = "model.onnx"
BACKENDS = ("torch", "onnx")
PREFETCH = True  # tokenise the next batch while ONNX Runtime runs this one (bench/predict.py measures it)


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


def batched(texts: Sequence[str], batch_size: int, forward: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """``forward`` over length-sorted batches; per-type probabilities in input order."""
    out = np.zeros((len(texts), len(EVENT_TYPES)), dtype=np.float32)
    for idx in length_sorted_batches(texts, batch_size):
        out[idx] = forward([texts[i] for i in idx])
    return out


def one_ahead(fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
    """``fn(item)`` for each item, the next one computed in a second thread while the caller works
    on the current one. Pays when both sides release the GIL (tokenizers' ``encode_batch`` and
    ONNX Runtime's ``run`` do)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for item in items:
            future = pool.submit(fn, item)
            if pending is not None:
                yield pending.result()
            pending = future
        if pending is not None:
            yield pending.result()


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


def fast_tokenizer(directory: Path, max_length: int = MAX_LENGTH) -> Any:
    """The folder's ``tokenizer.json`` set up as the torch path calls it (``truncation=True,
    max_length``, ``padding=True``: right-padded to the longest text of the batch with the pad
    token), read by ``tokenizers`` alone, so the same ids come out without transformers."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    config = directory / "tokenizer_config.json"
    pad = json.loads(config.read_text(encoding="utf-8")).get("pad_token") if config.is_file() else None
    pad = pad if isinstance(pad, str) else "[PAD]"
    pad_id = tokenizer.token_to_id(pad)
    if pad_id is None:
        raise ValueError(f"{directory / 'tokenizer.json'}: no pad token {pad!r}")
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(direction="right", pad_id=pad_id, pad_token=pad, pad_type_id=0)
    return tokenizer


class OnnxBackend:
    """The same model exported to ONNX (int8 weights), run by ONNX Runtime."""

    name = "onnx"

    def __init__(self, directory: Path, batch_size: int = 32, threads: int | None = None,
                 prefetch: bool = PREFETCH) -> None:
        import onnxruntime as ort

        from newsevents.model import ModelError, check_folder, meta_version, read_meta

        meta = read_meta(directory)
        onnx_file = directory / ONNX_FILE
        if not onnx_file.is_file():
            raise ModelError(f"{directory}: no {ONNX_FILE} (create it with `newsevents export-onnx`)")
        check_folder(directory, "onnx")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types
            raise ModelError(f"{onnx_file}: cannot load ({str(err).splitlines()[0]})") from None
        self.tokenizer = fast_tokenizer(directory)
        self.thresholds = {t: float(meta["thresholds"][t]) for t in EVENT_TYPES}
        self.version = meta_version(meta)
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.batch_size = batch_size
        self.prefetch = prefetch

    def encode(self, batch: list[str]) -> dict[str, np.ndarray]:
        """The session's input arrays for one batch."""
        encoded = self.tokenizer.encode_batch(batch)
        arrays = {"input_ids": [e.ids for e in encoded], "attention_mask": [e.attention_mask for e in encoded],
                  "token_type_ids": [e.type_ids for e in encoded]}
        return {k: np.array(v, dtype=np.int64) for k, v in arrays.items() if k in self.inputs}

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(EVENT_TYPES)), dtype=np.float32)
        order = list(length_sorted_batches(texts, self.batch_size))
        batches = ([texts[i] for i in idx] for idx in order)
        feeds = one_ahead(self.encode, batches) if self.prefetch else map(self.encode, batches)
        for idx, feed in zip(order, feeds):
            out[idx] = sigmoid(self.session.run(None, feed)[0])
        return out


def load_backend(directory: Path, backend: str = "torch", batch_size: int = 32, threads: int | None = None) -> Backend:
    """The model in ``directory`` behind one ``scores(texts)`` interface."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {list(BACKENDS)}")
    if backend == "onnx":
        return OnnxBackend(directory, batch_size, threads)
    return TorchBackend(directory, batch_size, threads)
