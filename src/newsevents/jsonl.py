"""Read JSON Lines files: the one reader, so every bad line is reported the same way.

Writing goes through ``atomic.write_jsonl``; reading is here. A line that is not JSON, or not
an object, raises ``JsonlError`` naming the file and the line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


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


def read_records(path: Path, from_json: Callable[[dict[str, Any]], T]) -> list[T]:
    """Every line of ``path`` as a typed record; a line that lacks a field, or has one of the
    wrong type, raises JsonlError naming the file, the line and the field."""
    records = []
    for lineno, row in iter_jsonl(path):
        try:
            records.append(from_json(row))
        except KeyError as err:
            raise JsonlError(f"{path}:{lineno}: missing field {err.args[0]!r}") from None
        except (TypeError, ValueError) as err:
            raise JsonlError(f"{path}:{lineno}: {err}") from None
    return records
