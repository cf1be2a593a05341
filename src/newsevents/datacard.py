"""The tie between the examples file and its data card: the prepare stage writes both as one
unit, and the card carries the digest of the examples it describes, so a pair from two runs
(an interrupted copy, a hand edit) is refused instead of trained on."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def examples_digest(text: str | bytes) -> str:
    """The data card's fingerprint of the examples file it describes."""
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def check_pair(examples_path: Path, card: dict[str, Any], data_card_path: Path) -> None:
    """ValueError unless the data card was written with these examples."""
    if card.get("examples_sha256") != examples_digest(examples_path.read_bytes()):
        raise ValueError(f"{data_card_path}: not the data card of {examples_path} (another prepare run "
                         f"wrote one of them); run `newsevents prepare` again")
