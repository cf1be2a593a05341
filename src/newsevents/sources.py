"""Input files named by path, glob or URI, read through pyarrow's filesystems.

``newsevents predict-dataset`` runs on many machines, so an input is named by something every
worker can open: an absolute local path (a shared disk) or a URI pyarrow understands
(``s3://bucket/crawl/*.jsonl``, ``gs://…``, ``hdfs://…``). Expanding the inputs happens once,
on the driver; each worker then reads its own files.
"""

from __future__ import annotations

import fnmatch
import glob
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from newsevents.corpus import PARQUET_SUFFIX, TEXT_SUFFIX, CorpusError, NotRead

#: The files ``predict-dataset`` reads, by suffix (any case); others in a folder are reported.
SUFFIXES = (TEXT_SUFFIX, ".jsonl", PARQUET_SUFFIX)
_GLOB = ("*", "?", "[")


@dataclass(frozen=True)
class Source:
    """One input file: where any worker can read it, and the id its text gets if it is a .txt
    file (its path inside the input folder without the suffix, else its name without it, as
    ``newsevents predict`` names them)."""

    uri: str
    txt_id: str


def _filesystem(uri: str):  # noqa: ANN202 (pyarrow.fs.FileSystem, imported lazily)
    from pyarrow import fs

    try:
        return fs.FileSystem.from_uri(uri)
    except (ValueError, OSError) as err:  # pyarrow raises ArrowInvalid (a ValueError) for unknown schemes
        raise ValueError(f"{uri}: cannot open this location ({str(err).splitlines()[0]})") from None


def _uri(prefix: str, path: str) -> str:
    """A path of the filesystem ``prefix`` (``s3://`` or "" for local) back as a URI."""
    return prefix + path


def expand(inputs: list[str]) -> tuple[list[Source], list[str]]:
    """The files of ``inputs`` (files, folders read recursively, globs; local or URIs) in a stable
    order without repeats, and a problem line for each input that matches nothing and each
    file of a folder that is not read."""
    from pyarrow import fs

    sources: dict[str, Source] = {}
    problems: list[str] = []
    for given in inputs:
        local = "://" not in given
        prefix = "" if local else given.split("://", 1)[0] + "://"
        if local:
            matches = sorted(glob.glob(given, recursive=True)) if any(c in given for c in _GLOB) else [given]
            named = [str(Path(m).resolve()) for m in matches if Path(m).exists()]
            filesystem = fs.LocalFileSystem()
        else:
            filesystem, path = _filesystem(given)
            named = _remote_glob(filesystem, path) if any(c in path for c in _GLOB) else [path]
        found = 0
        for path in named:
            info = filesystem.get_file_info(path)
            if info.type == fs.FileType.Directory:
                for item in _folder(filesystem, path):
                    if isinstance(item, CorpusError):
                        problems.append(str(item))
                        continue
                    rel = PurePosixPath(item).relative_to(PurePosixPath(path))
                    sources.setdefault(_uri(prefix, item), Source(_uri(prefix, item), rel.with_suffix("").as_posix()))
                    found += 1
            elif info.type == fs.FileType.File:
                sources.setdefault(_uri(prefix, path), Source(_uri(prefix, path), PurePosixPath(path).stem))
                found += 1
        if not found:
            problems.append(f"{given}: no such file, or no {', '.join(SUFFIXES)} files there")
    return list(sources.values()), problems


def _remote_glob(filesystem, pattern: str) -> list[str]:  # noqa: ANN001
    """Paths matching ``pattern`` on a remote filesystem: list below its first wildcard, match."""
    from pyarrow import fs

    parts = pattern.split("/")
    fixed = next(i for i, p in enumerate(parts) if any(c in p for c in _GLOB))
    base = "/".join(parts[:fixed])
    listing = filesystem.get_file_info(fs.FileSelector(base, recursive=True, allow_not_found=True))
    return sorted(i.path for i in listing if fnmatch.fnmatchcase(i.path, pattern))


def _folder(filesystem, folder: str) -> list[str | CorpusError]:  # noqa: ANN001
    from pyarrow import fs

    listing = filesystem.get_file_info(fs.FileSelector(folder, recursive=True))
    out: list[str | CorpusError] = []
    for info in sorted(listing, key=lambda i: i.path):
        name = PurePosixPath(info.path).name
        if info.type != fs.FileType.File or name.startswith("."):
            continue
        if PurePosixPath(name).suffix.lower() in SUFFIXES:
            out.append(info.path)
        else:
            out.append(NotRead(f"{info.path}: not a {', '.join(SUFFIXES)} file"))
    return out


def read_bytes(uri: str) -> bytes:
    """The whole file at ``uri``, or CorpusError naming it (a worker reads one file at a time)."""
    filesystem, path = _filesystem(uri)
    try:
        with filesystem.open_input_stream(path) as stream:
            return stream.read()
    except OSError as err:
        raise CorpusError(f"{uri}: cannot read: {str(err).splitlines()[0]}") from None
