"""The output folder of ``newsevents predict-dataset``: one shard per input file, and a manifest.

A shard holds the rows of one input file (the fields of ``newsevents predict``), as Parquet or
JSONL. It is written under a temporary name and renamed when complete, so a shard that exists
is whole: a rerun skips the input files whose shards exist and scores the rest. The manifest
records the settings every row carries (model, backend, thresholds) plus the format and unit; a
rerun with other settings is refused, as ``predict --resume`` refuses them, so one folder
never mixes runs. The folder may be local or any URI pyarrow's filesystems open.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import Any

from newsevents.outputs import format_rows
from newsevents.schema import EVENT_TYPES

FORMATS = ("parquet", "jsonl")
MANIFEST = "_manifest.json"
_TEMP = ".tmp-"


@dataclass(frozen=True)
class Manifest:
    """What a rerun must match to continue a folder."""

    schema_version: str
    model: str
    backend: str
    thresholds: dict[str, float]
    format: str
    unit: str


def row_schema():  # noqa: ANN201 (pyarrow.Schema, imported lazily)
    """The Arrow schema of a row: the same fields as ``newsevents predict``'s JSONL rows."""
    import pyarrow as pa

    per_type = pa.struct([(t, pa.float64()) for t in EVENT_TYPES])
    return pa.schema([
        ("doc_id", pa.string()), ("sentence_id", pa.string()), ("start", pa.int64()), ("end", pa.int64()),
        ("text", pa.string()), ("events", pa.list_(pa.string())), ("scores", per_type),
        ("schema_version", pa.string()), ("model", pa.string()),
        ("backend", pa.string()), ("thresholds", per_type),
    ])


def shard_name(source_uri: str, fmt: str) -> str:
    """A stable name per input file: readable stem plus a hash of the full URI, so files with
    the same name in different folders never share a shard."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", PurePosixPath(source_uri).stem)[:60] or "input"
    digest = hashlib.sha1(source_uri.encode("utf-8")).hexdigest()[:12]
    return f"{stem}-{digest}.{fmt}"


def open_folder(output: str):  # noqa: ANN201 (pyarrow FileSystem and path)
    """The filesystem and path of ``output`` (created if missing)."""
    from pyarrow import fs

    if "://" in output:
        filesystem, path = fs.FileSystem.from_uri(output)
    else:
        from pathlib import Path

        filesystem, path = fs.LocalFileSystem(), str(Path(output).resolve())
    filesystem.create_dir(path, recursive=True)
    return filesystem, path


def _write_atomic(filesystem, path: str, data: bytes) -> None:  # noqa: ANN001
    """``data`` at ``path`` all at once: written beside it under a hidden name, then moved."""
    parent, name = path.rsplit("/", 1)
    temp = f"{parent}/.{name}{_TEMP}{uuid.uuid4().hex[:8]}"
    with filesystem.open_output_stream(temp) as stream:
        stream.write(data)
    filesystem.move(temp, path)


def check_manifest(output: str, manifest: Manifest) -> None:
    """Write the manifest of a new folder; for an existing one, raise ValueError unless the
    settings match."""
    from pyarrow import fs

    filesystem, base = open_folder(output)
    path = f"{base}/{MANIFEST}"
    if filesystem.get_file_info(path).type == fs.FileType.File:
        with filesystem.open_input_stream(path) as stream:
            earlier = json.loads(stream.read())
        ours = asdict(manifest)
        differ = [k for k in ours if earlier.get(k) != ours[k]]
        if differ:
            raise ValueError(
                f"{output}: its shards were made with another {', '.join(differ)} "
                f"({', '.join(f'{k}={earlier.get(k)!r}' for k in differ)}); use another --output, "
                f"or rerun with the same model, --threshold-scale, --format and --unit")
        return
    _write_atomic(filesystem, path, (json.dumps(asdict(manifest), indent=2) + "\n").encode("utf-8"))


def done_shards(output: str) -> set[str]:
    """Names of the complete shards in ``output`` (temporary files of an interrupted run are not)."""
    from pyarrow import fs

    filesystem, base = open_folder(output)
    listing = filesystem.get_file_info(fs.FileSelector(base, allow_not_found=True))
    return {PurePosixPath(i.path).name for i in listing
            if i.type == fs.FileType.File and not PurePosixPath(i.path).name.startswith((".", "_"))}


def encode(rows: list[dict[str, Any]], fmt: str) -> bytes:
    """Rows as a Parquet file (the schema of ``row_schema``) or as JSONL (``predict``'s own)."""
    if fmt == "jsonl":
        return format_rows(rows, "jsonl").encode("utf-8")
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows, schema=row_schema()), sink)
    return sink.getvalue().to_pybytes()


def write_shard(output: str, name: str, rows: list[dict[str, Any]], fmt: str) -> None:
    filesystem, base = open_folder(output)
    _write_atomic(filesystem, f"{base}/{name}", encode(rows, fmt))


def read_rows(output: str) -> list[dict[str, Any]]:
    """Every row of every complete shard, shard by shard in name order (for checks and tests)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    filesystem, base = open_folder(output)
    rows: list[dict[str, Any]] = []
    for name in sorted(done_shards(output)):
        with filesystem.open_input_stream(f"{base}/{name}") as stream:
            data = stream.read()
        if name.endswith(".jsonl"):
            rows += [json.loads(line) for line in data.decode("utf-8").splitlines()]
        else:
            rows += pq.read_table(pa.BufferReader(data)).to_pylist()
    return rows
