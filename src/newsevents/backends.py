"""Loading a model folder behind the ``Backend`` interface, by PyTorch or ONNX Runtime."""

from __future__ import annotations

from pathlib import Path

from newsevents.inference import Backend

BACKENDS = ("torch", "onnx")


def load_backend(directory: Path, backend: str = "torch", batch_size: int = 32, threads: int | None = None) -> Backend:
    """The model in ``directory`` behind one ``scores(texts)`` interface."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {list(BACKENDS)}")
    if backend == "onnx":
        from newsevents.onnx_backend import OnnxBackend

        return OnnxBackend(directory, batch_size, threads)
    from newsevents.inference import TorchBackend

    return TorchBackend(directory, batch_size, threads)
