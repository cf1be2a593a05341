"""The ONNX backend: the exported model run by ONNX Runtime, tokenised by ``tokenizers`` alone.

It needs only ``onnxruntime``, ``tokenizers`` and numpy, so it starts without importing torch
or transformers (the core install). Not imported by the train stage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from newsevents.inference import MAX_LENGTH, batched, sigmoid
from newsevents.schema import EVENT_TYPES

ONNX_FILE = "model.onnx"
#: Tokenise the next batch in a second thread while ONNX Runtime runs this one. Off: on 2 cores it
#: cost 4% (bench/onnx_recipes.py, 242.0 vs 252.4 sentences/s), since the thread takes CPU from
#: ONNX Runtime's two; it may pay with more cores than ONNX Runtime threads.
PREFETCH = False


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
        # A memory pattern is planned and kept per input shape, and every batch length is a new
        # shape: over 20k sentences peak RSS 305 MB with it, 245 MB without, at the same speed.
        options.enable_mem_pattern = False
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
        def run(feed: dict[str, np.ndarray]) -> np.ndarray:
            return sigmoid(self.session.run(None, feed)[0])

        if self.prefetch:
            return batched(texts, self.batch_size, run, lambda batches: one_ahead(self.encode, batches))
        return batched(texts, self.batch_size, lambda batch: run(self.encode(batch)))
