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
        yield settings
    finally:
        subprocess.run([LS_SCRIPT, "stop"], env=env, check=False, timeout=120)
