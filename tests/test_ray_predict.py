"""`newsevents predict-dataset` on a real local Ray cluster: the same events as `predict`, resume
after a killed run, bad files reported and skipped, and the inputs it expands."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsevents import ray_predict, shards, sources
from newsevents.outputs import SETTINGS

from conftest import ROOT, SEEDS

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

INPUTS = [*sorted(str(p) for p in SEEDS.glob("*.txt")), str(SEEDS / "newswire.jsonl")]


@pytest.fixture(scope="session")
def ray_address() -> str:
    """One local Ray cluster of 2 CPUs for the session (CI has 2 cores), shut down at the end."""
    context = ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield context.address_info["address"]
    ray.shutdown()


def job(onnx_dir: Path, output: Path, **kw) -> ray_predict.Job:
    return ray_predict.Job(model_dir=str(onnx_dir), output=str(output), **kw)


def single_process(onnx_dir: Path, tmp_path: Path, inputs: list[str], *args: str) -> list[dict]:
    """The rows of `newsevents predict --backend onnx` over the same inputs."""
    out = tmp_path / "single.jsonl"
    result = subprocess.run([sys.executable, "-m", "newsevents.cli", "predict", *inputs, "--model", str(onnx_dir),
                             "--backend", "onnx", "--output", str(out), "--quiet", *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def by_sentence(rows: list[dict]) -> dict[str, dict]:
    return {r["sentence_id"]: r for r in rows}


def test_rows_are_those_of_single_process_predict(ray_address, onnx_dir, tmp_path):
    """With one sentence per forward pass the two paths see the same batches: every field of
    every row is equal, as Parquet and as JSONL."""
    single = by_sentence(single_process(onnx_dir, tmp_path, INPUTS, "--batch-size", "1"))
    for fmt in shards.FORMATS:
        counts = ray_predict.run(INPUTS, job(onnx_dir, tmp_path / fmt, fmt=fmt, batch_size=1), quiet=True)
        rows = by_sentence(shards.read_rows(str(tmp_path / fmt)))
        assert rows == single
        assert counts["sentences"] == len(single) and counts["skipped"] == 0
        assert counts["documents"] == len({r["doc_id"] for r in single.values()})


def test_events_per_sentence_are_those_of_single_process_predict(ray_address, onnx_dir, tmp_path):
    """At the default batch size the two paths batch sentences differently (per file here, across
    files there), and int8 activations are quantised per batch, so a score may move in its 4th
    decimal; the events must not."""
    single = by_sentence(single_process(onnx_dir, tmp_path, INPUTS))
    ray_predict.run(INPUTS, job(onnx_dir, tmp_path / "out"), quiet=True)
    rows = by_sentence(shards.read_rows(str(tmp_path / "out")))
    assert rows.keys() == single.keys()
    assert {k: r["events"] for k, r in rows.items()} == {k: r["events"] for k, r in single.items()}
    fixed = ("doc_id", "start", "end", "text", *SETTINGS)
    assert all({f: r[f] for f in fixed} == {f: single[k][f] for f in fixed} for k, r in rows.items())
    assert max(abs(r["scores"][t] - single[k]["scores"][t]) for k, r in rows.items() for t in r["scores"]) < 2e-3


def split_newswire(folder: Path, parts: int) -> list[str]:
    """newswire.jsonl as ``parts`` input files, so a run writes several shards."""
    lines = (SEEDS / "newswire.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    folder.mkdir()
    paths = []
    for i in range(parts):
        path = folder / f"part{i:02}.jsonl"
        path.write_text("".join(lines[i::parts]), encoding="utf-8")
        paths.append(str(path))
    return paths


def test_a_killed_run_resumes_to_the_result_of_a_clean_run(ray_address, onnx_dir, tmp_path):
    inputs = split_newswire(tmp_path / "in", 12)
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    run = subprocess.Popen([sys.executable, "-m", "newsevents.cli", "predict-dataset", *inputs, "--model",
                            str(onnx_dir), "--output", str(out), "--address", ray_address, "--quiet",
                            "--batch-size", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           start_new_session=True)
    deadline = time.monotonic() + 240
    while not (out.is_dir() and shards.done_shards(str(out))) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)  # as a lost driver node or `kill -9` would
    run.wait(timeout=30)
    done_at_kill = shards.done_shards(str(out))
    assert 0 < len(done_at_kill) < len(inputs), run.stderr.read().decode()[-2000:]

    resumed = ray_predict.run(inputs, job(onnx_dir, out, batch_size=1), quiet=True)
    assert resumed["resumed"] >= len(done_at_kill)
    ray_predict.run(inputs, job(onnx_dir, tmp_path / "clean", batch_size=1), quiet=True)
    assert shards.done_shards(str(out)) == shards.done_shards(str(tmp_path / "clean"))
    assert shards.read_rows(str(out)) == shards.read_rows(str(tmp_path / "clean"))


def test_a_bad_file_is_reported_and_skipped_and_the_rest_scored(ray_address, onnx_dir, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "latin1.txt").write_bytes("Le président est arrivé à Nairobi.".encode("latin-1"))
    (folder / "good.txt").write_text("The president arrived in Nairobi on Monday.\n", encoding="utf-8")
    (folder / "lines.jsonl").write_text('{"id": "a", "text": "Drones struck a depot."}\nnot json\n'
                                        '{"id": "b", "text": "Talks followed."}\n', encoding="utf-8")
    pq.write_table(pa.table({"id": ["p1", "p2"], "text": ["A court jailed the mayor.", "  "]}), folder / "docs.parquet")
    (folder / "notes.md").write_text("not an input\n", encoding="utf-8")
    out = tmp_path / "out"
    counts = ray_predict.run([str(folder)], job(onnx_dir, out), quiet=True)
    err = capsys.readouterr().err
    assert f"skipped {folder / 'latin1.txt'}: not UTF-8 (byte 5" in err
    assert f"skipped {folder / 'lines.jsonl'}:2: not JSON" in err
    assert f"skipped {folder / 'docs.parquet'}:row 2: empty text" in err
    assert f"skipped {folder / 'notes.md'}: not a .txt, .jsonl, .parquet file" in err
    assert counts["skipped"] == 4 and counts["documents"] == 4  # good, a, b, p1
    assert sorted({r["doc_id"] for r in shards.read_rows(str(out))}) == ["a", "b", "good", "p1"]
    # The file no line of which could be read has no shard, so a rerun tries it again.
    again = ray_predict.run([str(folder)], job(onnx_dir, out), quiet=True)
    assert again["resumed"] == 3 and again["skipped"] == 2 and again["documents"] == 0


def test_a_rerun_with_other_settings_is_refused_before_any_work(ray_address, onnx_dir, tmp_path):
    out = tmp_path / "out"
    ray_predict.run([str(SEEDS / "000_8c045d6ba132c515.txt")], job(onnx_dir, out), quiet=True)
    with pytest.raises(ValueError, match=r"made with another thresholds"):
        ray_predict.run([str(SEEDS / "001_df33677249d575f2.txt")], job(onnx_dir, out, threshold_scale=2.0))
    with pytest.raises(ValueError, match=r"made with another format"):
        ray_predict.run([str(SEEDS / "001_df33677249d575f2.txt")], job(onnx_dir, out, fmt="jsonl"))
    assert len(shards.done_shards(str(out))) == 1


def test_without_ray_installed_the_command_says_how_to_get_it(onnx_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where the extra is not installed
    with pytest.raises(ValueError, match=r"predict-dataset needs Ray: pip install -e '\.\[ray\]'"):
        ray_predict.run(INPUTS, job(onnx_dir, tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_actors_that_leave_no_cpu_for_segmenting_are_refused():
    ray_predict.check_room(actors=1, threads=1, cpus=2)
    with pytest.raises(ValueError, match=r"--actors 2 x --threads 1 reserve 2 of the cluster's 2 CPUs.*--actors 1"):
        ray_predict.check_room(actors=2, threads=1, cpus=2)


def test_a_relative_output_is_made_absolute_here_and_refused_on_a_cluster(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    local = ray_predict._placed(ray_predict.Job(model_dir="models/m", output="events"), cluster=False)
    assert (local.model_dir, local.output) == (str(tmp_path / "models/m"), str(tmp_path / "events"))
    on_cluster = ray_predict.Job(model_dir="models/m", output="s3://bucket/events")
    assert ray_predict._placed(on_cluster, cluster=True) == on_cluster  # the model is found in the working dir
    with pytest.raises(ValueError, match=r"events: on a cluster --output must be a URI"):
        ray_predict._placed(ray_predict.Job(model_dir="models/m", output="events"), cluster=True)


def test_inputs_expand_from_files_folders_and_globs_with_ids_as_predict_names_them(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.txt", "sub/a.txt", "sub/b.jsonl"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    found, problems = sources.expand([str(tmp_path), str(tmp_path / "sub" / "*.jsonl"), str(tmp_path / "none*")])
    assert [(Path(s.uri).relative_to(tmp_path).as_posix(), s.txt_id) for s in found] == [
        ("a.txt", "a"), ("sub/a.txt", "sub/a"), ("sub/b.jsonl", "sub/b")]
    assert problems == [f"{tmp_path / 'none*'}: no such file, or no .txt, .jsonl, .parquet files there"]
    assert shards.shard_name(found[0].uri, "parquet") != shards.shard_name(found[1].uri, "parquet")
    # A URI goes through pyarrow's filesystem of its scheme (s3:// alike; file:// is the one CI has).
    found, problems = sources.expand([f"file://{tmp_path}/sub/*.jsonl", f"file://{tmp_path}/sub"])
    assert [s.uri for s in found] == [f"file://{tmp_path}/sub/b.jsonl", f"file://{tmp_path}/sub/a.txt"]
    assert sources.read_bytes(found[0].uri) == b"x" and problems == []


def test_the_command_ends_with_one_line_when_nothing_could_be_read(ray_address, onnx_dir, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.txt").write_bytes(b"\xff\xfe not text")
    result = subprocess.run([sys.executable, "-m", "newsevents.cli", "predict-dataset", str(tmp_path / "in"),
                             "--model", str(onnx_dir), "--output", str(tmp_path / "out"), "--address", ray_address,
                             "--quiet"], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert result.returncode == 1
    assert f"newsevents: skipped {tmp_path / 'in' / 'bad.txt'}: not UTF-8 (byte 0" in result.stderr
    assert re.fullmatch(r"newsevents: error: nothing could be read: 0 documents, 0 sentences in [\d.]+s "
                        r"\(0 sentences/s\); skipped 1 \(1 not UTF-8\)", result.stderr.rstrip().splitlines()[-1])
