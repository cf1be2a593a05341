"""Shared fixtures: the project root, the seed articles, and a real Label Studio server."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
FIXTURES = Path(__file__).parent / "fixtures"
LS_SCRIPT = ROOT / "scripts" / "labelstudio.sh"


@pytest.fixture(scope="session")
def seed_articles():
    from newsevents.corpus import read_articles

    return {a.id: a for a in read_articles(SEEDS)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def labelstudio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real Label Studio, started by the same script as `make labelstudio`, on a free port
    with its own throw-away data folder; stopped when the session ends."""
    data = tmp_path_factory.mktemp("labelstudio")
    env = {**os.environ, "LABEL_STUDIO_PORT": str(_free_port()), "LABEL_STUDIO_DATA": str(data)}
    env.pop("LABEL_STUDIO_USER_TOKEN", None)
    subprocess.run([LS_SCRIPT, "start"], env=env, check=True, timeout=900)
    try:
        exports = subprocess.run(
            [LS_SCRIPT, "env"], env=env, check=True, capture_output=True, text=True
        ).stdout
        settings = dict(
            line.removeprefix("export ").split("=", 1) for line in exports.splitlines()
        )
        # The server's own settings too, so scripts/labelstudio.sh can reach it (annotators).
        yield {**settings, "LABEL_STUDIO_PORT": env["LABEL_STUDIO_PORT"], "LABEL_STUDIO_DATA": env["LABEL_STUDIO_DATA"]}
    finally:
        subprocess.run([LS_SCRIPT, "stop"], env=env, check=False, timeout=120)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2-layer, 32-wide BERT with the packaged tokenizer: trains in about a second."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from newsevents.model import resolve_base_model

    path = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model(""))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def _tiny_rows():
    from newsevents.schema import Example

    return [Example(f"r{i}", text, tuple(labels), "newswire", f"p{i}", fold=i % 2) for i, (text, labels) in enumerate([
        ("The president arrived in Nairobi for a state visit.", ["visit"]),
        ("The two countries signed a trade agreement on Monday.", ["treaty"]),
        ("Drones struck a fuel depot near the border overnight.", ["strike"]),
        ("A court jailed the former mayor for six years.", ["sentence"]),
        ("The EU froze the assets of three generals.", ["sanction"]),
        ("Rain is expected across the region this weekend.", []),
        ("The minister toured the flooded districts by helicopter.", ["visit"]),
        ("Shares rose after the quarterly results.", []),
    ])]


TINY_ROWS = _tiny_rows()


def tiny_params(base: str, **kw):
    from newsevents.params import TrainParams

    return TrainParams(base_model=base, epochs=2, batch_size=4, learning_rate=1e-3, max_length=32, threads=1, **kw)


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_base: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved classifier folder (tiny weights), as the train stage would write it."""
    from newsevents.model import save_classifier
    from newsevents.train import fit

    model, tokenizer = fit(TINY_ROWS, tiny_params(tiny_base), seed=1)
    directory = tmp_path_factory.mktemp("models") / "event-classifier"
    thresholds = dict.fromkeys(["visit", "treaty", "strike", "sentence", "sanction"], 0.5)
    save_classifier(directory, model, tokenizer, thresholds, {"version": "tiny-test"})
    return directory


def model_copy(source: Path, target: Path, **meta) -> Path:
    """A copy of a model folder with ``meta`` (version, thresholds…) changed in its newsevents.json."""
    import json
    import shutil

    shutil.copytree(source, target)
    found = json.loads((target / "newsevents.json").read_text())
    (target / "newsevents.json").write_text(json.dumps({**found, **meta}))
    return target


@pytest.fixture(scope="session")
def onnx_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny classifier exported to ONNX (int8), as the export stage would write it."""
    from newsevents import onnx_export

    out = tmp_path_factory.mktemp("onnx") / "event-classifier-onnx"
    onnx_export.export(tiny_model_dir, out)
    return out


def interrupted_after(n: int, real):
    """``real`` (a generator function) that raises KeyboardInterrupt before its ``n``-th item,
    as Ctrl-C in the middle of a run would."""

    def dies(*args, **kwargs):
        for i, item in enumerate(real(*args, **kwargs)):
            if i == n:
                raise KeyboardInterrupt
            yield item

    return dies


@pytest.fixture(scope="session")
def tiny_exported(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models/ folder as the pipeline leaves it: event-classifier/ (a copy of the tiny model)
    and its ONNX export beside it, event-classifier-onnx/. Returns the torch folder."""
    import shutil

    from newsevents.onnx_export import export

    directory = tmp_path_factory.mktemp("exported") / "models" / "event-classifier"
    shutil.copytree(tiny_model_dir, directory)
    export(directory, directory.with_name("event-classifier-onnx"))
    return directory
