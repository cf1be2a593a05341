"""Read articles and split them into sentences with exact character offsets.

News pages are not clean prose: headlines and section titles end without a period, live blogs
have bullet lines, and scraped pages carry mastheads, breadcrumbs, credits and a trailing list
of teasers for other stories. A line break is therefore always a sentence boundary, page
furniture is skipped, and pysbd (a rule-based segmenter that knows abbreviations such as
U.S., Mr. and Gen.) splits the prose inside each line.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from dataclasses import replace
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path, PurePosixPath

import pysbd

from newsevents.schema import Article, Sentence

# Indentation and bullet glyphs before a line's text; they belong to the layout, not the sentence.
_BULLET = re.compile(r"^[\s•·▪◦‣●\-–*]+")
# A line that opens a list of links to other stories: everything after it is page furniture.
_TEASER_MARKERS = frozenset(
    {"trends", "trending", "latest", "related", "related articles", "related stories", "read more",
     "more stories", "most read", "most popular", "you may also like", "recommended"}
)
# Lines that are page furniture wherever they stand: credits, sources, breadcrumbs, timestamps.
_FURNITURE = (
    re.compile(r"^(source|sources|refs?|compiled by|images? from|photo|credit|copyright)\b.*$", re.I),
    re.compile(r"^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$"),  # ISO timestamps of teaser cards
    re.compile(r"^[^.!?]*\s[/|]\s[^.!?]*$"),  # breadcrumbs: "World / Russia / Ukraine"
)
_MAX_FURNITURE_WORDS = 2  # "World", "Clam Reports": labels and bylines, never a headline
# pysbd sometimes leaves a closing quote or a stray bracket as a piece of its own.
_CLOSING = ("”", "’", '"', "'", "»", ")", "]")


class CorpusError(ValueError):
    """A problem with an input file, with the file (and line) named in the message."""


class NotRead(CorpusError):
    """A file inside an input folder that is not read (not .txt, or a symlinked folder): no
    error, but reported and counted when problems are reported, so nothing vanishes unseen."""


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False, char_span=False)


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """Each line with the offset of its first character."""
    offset = 0
    for line in text.splitlines(keepends=True):
        yield offset, line
        offset += len(line)


def is_furniture(line: str) -> bool:
    """True for a line that is page layout rather than reporting."""
    words = line.split()
    if len(words) <= _MAX_FURNITURE_WORDS and not line.rstrip().endswith((".", "!", "?", "”", '"')):
        return True
    return any(p.match(line) for p in _FURNITURE)


def segment(article: Article) -> list[Sentence]:
    """Split an article into sentences; ``article.text[s.start:s.end] == s.text`` for each."""
    sentences: list[Sentence] = []
    for line_start, line in _lines(article.text):
        body = line.rstrip()
        lead = _BULLET.match(body)
        start = lead.end() if lead else 0
        body = body[start:]
        if not body:
            continue
        if body.strip().lower().rstrip(":") in _TEASER_MARKERS:
            break
        if is_furniture(body):
            continue
        for chunk_start, chunk in bounded_chunks(body):
            _segment_chunk(article, sentences, chunk, line_start, line_start + start + chunk_start)
    return sentences


#: Longest text handed to pysbd at once. Its abbreviation pass grows faster than linearly with
#: the length of a line (2.4 s at 25.6K characters, 97 s at 205K: ``bench/segment.py``), and one
#: line of a scraped page can be a whole article.
MAX_CHUNK = 10_000
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def bounded_chunks(line: str, limit: int = MAX_CHUNK) -> Iterator[tuple[int, str]]:
    """``line`` in pieces of at most ``limit`` characters, with their offsets, cut at the last
    sentence-like boundary (end punctuation, space, capital) before the limit, else at the last
    space, else at the limit: pysbd then sees bounded text, and short lines pass whole."""
    start = 0
    while len(line) - start > limit:
        window = line[start : start + limit]
        cut = max((m.end() for m in _BOUNDARY.finditer(window)), default=0)
        if cut == 0:
            cut = window.rfind(" ") + 1 or limit
        yield start, line[start : start + cut]
        start += cut
    yield start, line[start:]


def _segment_chunk(article: Article, sentences: list[Sentence], body: str, line_start: int, offset: int) -> None:
    """Append the sentences pysbd finds in ``body``, which starts at ``offset`` of the article
    (a line, or a bounded piece of one, that starts at ``line_start``)."""
    cursor = 0
    for piece in _segmenter().segment(body):
        piece = piece.strip()
        if not piece:
            continue
        found = body.find(piece, cursor)
        if found < 0:  # pysbd never rewrites text with clean=False; guard the invariant anyway
            raise CorpusError(f"{article.id}: segmenter changed the text near {piece[:40]!r}")
        cursor = found + len(piece)
        begin = offset + found
        end = begin + len(piece)
        if not any(c.isalnum() for c in piece):
            # A closing quote ends the sentence before it; any other lone punctuation is debris.
            if piece.startswith(_CLOSING) and sentences and sentences[-1].start >= line_start:
                last = sentences.pop()
                sentences.append(replace(last, end=end, text=article.text[last.start:end]))
            continue
        sentences.append(Sentence(article.id, len(sentences), begin, end, piece))


def read_text_file(path: Path) -> str:
    """A UTF-8 text file (a leading byte-order mark dropped), or CorpusError naming the file and
    the problem."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CorpusError(f"{path}: cannot read: {err.strerror}") from None
    return decode_text(data, str(path))


def decode_text(data: bytes, where: str) -> str:
    """UTF-8 bytes as text (a leading byte-order mark dropped), or CorpusError naming ``where``."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        raise CorpusError(f"{where}: not UTF-8 (byte {err.start}: {data[err.start:err.start + 1]!r})") from None


MAX_CHARS = 2_000_000  # ~300 pages: far beyond any article, so a bigger text is a dump to split


def _article(id_: str, text: str, where: str, max_chars: int) -> Article:
    if not text.strip():
        raise CorpusError(f"{where}: empty text")
    if len(text) > max_chars:
        raise CorpusError(
            f"{where}: text of {len(text):,} characters is above the limit of {max_chars:,}; "
            f"split it into articles"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:  # JSON's "\ud800": a lone surrogate no UTF-8 file can hold
        raise CorpusError(f"{where}: text holds a lone surrogate {text[err.start]!r} at character {err.start}") from None
    return Article(id_, text)


#: An article with where it was read (``file`` or ``file:line``), for messages that point at it.
Located = tuple[Article, str]


def _jsonl_articles(lines: Iterable[bytes], name: str, max_chars: int) -> Iterator[Located | CorpusError]:
    for lineno, raw in enumerate(lines, 1):
        where = f"{name}:{lineno}"
        try:
            line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError as err:
            yield CorpusError(f"{where}: not UTF-8 (byte {err.start})")
            continue
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            if name == STDIN and lineno == 1:
                raise CorpusError(f"{where}: not JSON: `-` reads JSONL from stdin, one "
                                  '{"id": ..., "text": ...} per line; give plain text as a .txt file') from None
            yield CorpusError(f"{where}: not JSON: {err.msg}: column {err.colno}")
            continue
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or "id" not in row:
            yield CorpusError(f"{where}: expected an object with 'id' and 'text'")
            continue
        try:
            yield _article(str(row["id"]), row["text"], where, max_chars), where
        except CorpusError as err:
            yield err


STDIN = "<stdin>"
#: Text files inside an input folder, by suffix (any case).
TEXT_SUFFIX = ".txt"


def _folder_files(folder: Path) -> Iterator[Path | CorpusError]:
    """The .txt files under ``folder`` in a stable order, and a problem for every other file and
    every symlinked folder, so nothing is left out without a word."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        here = Path(root)
        dirs.sort()
        for d in dirs:
            if (here / d).is_symlink():
                yield NotRead(f"{here / d}: symlinked folder, not followed")
        for name in sorted(files):
            path = here / name
            if path.suffix.lower() == TEXT_SUFFIX and path.is_file():
                yield path
            elif not name.startswith("."):
                yield NotRead(f"{path}: not a {TEXT_SUFFIX} file (inside a folder only .txt files are read)")


def _articles_from(path: Path | str, max_chars: int) -> Iterator[Located | CorpusError]:
    """Articles of one input, with each problem yielded in place of the article it spoils.

    A file's id is its name without the suffix; inside a folder, its path relative to the
    folder without the suffix (``sub/a``), so ``a.txt`` and ``sub/a.txt`` stay two articles.
    """
    if str(path) == "-":
        yield from _jsonl_articles(sys.stdin.buffer, STDIN, max_chars)
        return
    path = Path(path)
    if path.is_dir():
        found = False
        for item in _folder_files(path):
            if isinstance(item, CorpusError):
                yield item
                continue
            found = True
            try:
                yield _article(item.relative_to(path).with_suffix("").as_posix(), read_text_file(item),
                               str(item), max_chars), str(item)
            except CorpusError as err:
                yield err
        if not found:
            yield CorpusError(f"{path}: no .txt files")
    elif not path.exists():
        yield CorpusError(f"{path}: no such file or folder")
    elif path.suffix == ".jsonl":
        try:
            with path.open("rb") as f:
                yield from _jsonl_articles(f, str(path), max_chars)
        except OSError as err:
            yield CorpusError(f"{path}: cannot read: {err.strerror}")
    else:
        try:
            yield _article(path.stem, read_text_file(path), str(path), max_chars), str(path)
        except CorpusError as err:
            yield err


def iter_articles(
    paths: Iterable[Path | str], on_problem: Callable[[str], None] | None = None, max_chars: int = MAX_CHARS
) -> Iterator[Article]:
    """Articles from .txt files, folders of them (recursively), JSONL files (``{"id", "text"}``
    per line) or ``-`` for JSONL on stdin, one at a time so memory does not grow with the input.

    Without ``on_problem`` the first problem (unreadable or non-UTF-8 file, bad JSON line, empty
    text, duplicate id, text above ``max_chars``) raises CorpusError, and files a folder holds
    that are not read are passed over; with it, each of these is reported and the rest goes on. Plain text on stdin
    stops the run: nothing there can be read.
    """
    seen: dict[str, str] = {}
    for path in paths:
        for item in first_of_each_id(_articles_from(path, max_chars), seen):
            if isinstance(item, Article):
                yield item
                continue
            if on_problem is None:
                if isinstance(item, NotRead):
                    continue
                raise item
            on_problem(str(item))


def first_of_each_id(items: Iterable[Located | CorpusError], seen: dict[str, str]) -> Iterator[Article | CorpusError]:
    """Articles whose id is new to ``seen`` (id → where first read, updated), and a problem in
    place of every later article with the same id; problems pass through."""
    for item in items:
        if isinstance(item, CorpusError):
            yield item
            continue
        article, where = item
        if article.id in seen:
            yield CorpusError(f"{where}: duplicate id {article.id!r} (first at {seen[article.id]})")
            continue
        seen[article.id] = where
        yield article


def articles_in_bytes(data: bytes, name: str, txt_id: str, max_chars: int = MAX_CHARS) -> Iterator[Located | CorpusError]:
    """Articles of one file already read into memory (from any filesystem), by its suffix: JSONL
    and Parquet (columns ``id`` and ``text``) hold many, a .txt file is one, with id ``txt_id``."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".jsonl":
        yield from _jsonl_articles(io.BytesIO(data), name, max_chars)
    elif suffix == PARQUET_SUFFIX:
        yield from _parquet_articles(data, name, max_chars)
    else:
        try:
            yield _article(txt_id, decode_text(data, name), name, max_chars), name
        except CorpusError as err:
            yield err


PARQUET_SUFFIX = ".parquet"


def _parquet_articles(data: bytes, name: str, max_chars: int) -> Iterator[Located | CorpusError]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as err:
        yield CorpusError(f"{name}: not Parquet ({str(err).splitlines()[0][:120]})")
        return
    missing = [c for c in ("id", "text") if c not in parquet.schema_arrow.names]
    if missing:
        yield CorpusError(f"{name}: no {' or '.join(repr(c) for c in missing)} column (expected 'id' and 'text')")
        return
    row = 0
    for batch in parquet.iter_batches(batch_size=1024, columns=["id", "text"]):
        for id_, text in zip(batch.column("id").to_pylist(), batch.column("text").to_pylist()):
            row += 1
            where = f"{name}:row {row}"
            if id_ is None or not isinstance(text, str):
                yield CorpusError(f"{where}: expected an 'id' and a string 'text'")
                continue
            try:
                yield _article(str(id_), text, where, max_chars), where
            except CorpusError as err:
                yield err


def read_articles(path: Path) -> list[Article]:
    """Every article of one input; the first problem raises CorpusError."""
    return list(iter_articles([path]))
