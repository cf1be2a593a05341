"""Read JSON Lines files: the one reader, so every bad line is reported the same way.

Writing goes through ``atomic.write_jsonl``; reading is here. A line that is not JSON, or not
an object, raises ``JsonlError`` naming the file and the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class JsonlError(ValueError):
    """A JSONL file that cannot be read; the message is ``file:line: problem``."""


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line of ``path``."""
    try:
        f = path.open(encoding="utf-8")
    except OSError as err:
        raise JsonlError(f"{path}: cannot read: {err.strerror}") from None
    with f:
        lineno = 0
        try:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise JsonlError(f"{path}:{lineno}: not JSON: {err.msg}") from None
                if not isinstance(row, dict):
                    raise JsonlError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
                yield lineno, row
        except UnicodeDecodeError as err:
            raise JsonlError(f"{path}:{lineno + 1}: not UTF-8 (byte {err.start})") from None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every object of a JSONL file, in order."""
    return [row for _, row in iter_jsonl(path)]
