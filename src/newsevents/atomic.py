"""Atomic file writes: a reader sees the old file or the complete new one, never a partial one.

Every stage output and every export goes through here, so an interrupted run cannot leave a file
that looks finished.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to a temp file beside ``path``, fsync it, then rename it over ``path``."""
    write_texts({path: text})


def write_texts(files: dict[Path, str]) -> None:
    """Several files as one unit: every temp file is written and fsynced before the first
    rename, so a failure while writing leaves all the old files (the renames themselves are
    instants, one after another)."""
    temps: dict[Path, str] = {}
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            temps[path] = tmp
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual mode
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        for path, tmp in temps.items():
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps.values():
            Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def dumps_json(value: Any) -> str:
    """Stable JSON: sorted keys, two-space indent, UTF-8 kept readable, final newline."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json(path: Path, value: Any) -> None:
    write_text(path, dumps_json(value))


def dumps_jsonl(rows: Iterable[Any]) -> str:
    return "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows)


def write_jsonl(path: Path, rows: Iterable[Any]) -> None:
    write_text(path, dumps_jsonl(rows))


def new_dir_beside(directory: Path) -> Path:
    """An empty temp folder beside ``directory`` (same filesystem, so the swap is a rename)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))


def replace_dir(tmp: Path, directory: Path) -> None:
    """Swap a fully written ``tmp`` folder in for ``directory``: readers never see half of one."""
    mask = _umask()  # mkdtemp (and some writers) use private modes; give the usual ones
    os.chmod(tmp, 0o777 & ~mask)
    for path in tmp.rglob("*"):
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)
    if directory.exists():
        old = directory.with_name(f".{directory.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        directory.rename(old)
        tmp.rename(directory)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(directory)
