"""`newsevents predict`: outputs, atomic writes, resume, and one test per kind of bad input."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from newsevents import predict
from newsevents.backends import load_backend
from newsevents.predict import predict_articles, summarize
from newsevents.schema import Article

from conftest import SEEDS, interrupted_after

GOOD = "The president arrived in Nairobi on Monday. Talks on trade followed.\nRain is expected."


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsevents.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=300)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_rows_carry_location_events_scores_and_model(tiny_model_dir):
    backend = load_backend(tiny_model_dir)
    [(article, rows)] = list(predict_articles(backend, [Article("a1", GOOD)]))
    assert [r["sentence_id"] for r in rows] == ["a1:0", "a1:1", "a1:2"]
    for r in rows:
        assert GOOD[r["start"] : r["end"]] == r["text"]
        assert set(r["scores"]) == {"visit", "treaty", "strike", "sentence", "sanction"}
        assert all(t in r["scores"] and r["scores"][t] >= backend.thresholds[t] for t in r["events"])
        assert r["model"] == "event-classifier tiny-test"


def test_threshold_scale_zero_marks_every_type(tiny_model_dir):
    backend = load_backend(tiny_model_dir)
    [(_, rows)] = list(predict_articles(backend, [Article("a", "One sentence.")], threshold_scale=0.0))
    assert rows[0]["events"] == ["visit", "treaty", "strike", "sentence", "sanction"]


def test_unit_sentence_keeps_each_text_whole(tiny_model_dir):
    backend = load_backend(tiny_model_dir)
    [(_, rows)] = list(predict_articles(backend, [Article("s", "  Two sentences. In one text.\n")], unit="sentence"))
    assert len(rows) == 1 and rows[0]["text"] == "Two sentences. In one text." and rows[0]["start"] == 2


def test_summary_counts_and_top_sentence():
    rows = [
        {"sentence_id": "d:0", "text": "a", "events": ["visit"], "scores": {"visit": 0.7, "treaty": 0.1, "strike": 0.0, "sentence": 0.0, "sanction": 0.0}},
        {"sentence_id": "d:1", "text": "b", "events": ["visit"], "scores": {"visit": 0.9, "treaty": 0.1, "strike": 0.0, "sentence": 0.0, "sanction": 0.0}},
        {"sentence_id": "d:2", "text": "c", "events": [], "scores": {"visit": 0.1, "treaty": 0.1, "strike": 0.0, "sentence": 0.0, "sanction": 0.0}},
    ]
    s = summarize("d", rows)
    assert s["events"] == ["visit"] and s["counts"]["visit"] == 2 and s["sentences"] == 3
    assert s["top"] == {"visit": {"sentence_id": "d:1", "score": 0.9, "text": "b"}}


def test_seeds_folder_to_stdout_jsonl_and_summary_csv(tiny_model_dir, tmp_path):
    summary = tmp_path / "summary.csv"
    result = cli("predict", str(SEEDS), "--model", str(tiny_model_dir), "--summary", str(summary))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len({r["doc_id"] for r in rows}) == 5 and len(rows) == 153
    assert "5 documents, 153 sentences" in result.stderr
    table = list(csv.DictReader(summary.open(encoding="utf-8")))
    assert [t["doc_id"] for t in table] == sorted(t["doc_id"] for t in table) and len(table) == 5
    assert {"n_visit", "top_visit", "top_visit_score", "events"} <= set(table[0])


def test_csv_output_file_and_jsonl_stdin(tiny_model_dir, tmp_path):
    out = tmp_path / "out.csv"
    stdin = json.dumps({"id": "x1", "text": GOOD}) + "\n" + json.dumps({"id": "x2", "text": "Markets fell."}) + "\n"
    result = cli("predict", "-", "--model", str(tiny_model_dir), "--output", str(out), "--format", "csv", stdin=stdin)
    assert result.returncode == 0, result.stderr
    table = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["sentence_id"] for r in table] == ["x1:0", "x1:1", "x1:2", "x2:0"]
    assert not out.with_name("out.csv.partial").exists()


def test_interrupted_run_leaves_only_a_partial_file_and_resume_finishes_it(tiny_model_dir, tmp_path, monkeypatch):
    docs = write(tmp_path / "docs.jsonl", "".join(json.dumps({"id": f"d{i}", "text": GOOD}) + "\n" for i in range(6)))
    out = tmp_path / "events.jsonl"
    real = predict.predict_articles

    monkeypatch.setattr(predict, "predict_articles", interrupted_after(3, real))
    with pytest.raises(KeyboardInterrupt):
        predict.run([str(docs)], tiny_model_dir, out, quiet=True)
    assert not out.exists()  # nothing that looks finished
    partial = out.with_name("events.jsonl.partial")
    assert sorted({r["doc_id"] for r in rows_of(partial)}) == ["d0", "d1", "d2"]
    with partial.open("a", encoding="utf-8") as f:
        f.write('{"doc_id": "d3", "sentence_id": "d3:0", "tex')  # cut mid-line by the interruption

    monkeypatch.setattr(predict, "predict_articles", real)
    counts = predict.run([str(docs)], tiny_model_dir, out, resume=True, quiet=True, summary=tmp_path / "s.jsonl")
    # The last complete-looking document may be cut short, so it is scored again.
    assert counts["resumed"] == 2 and counts["documents"] == 4
    rows = rows_of(out)
    assert [r["doc_id"] for r in rows] == [f"d{i}" for i in range(6) for _ in range(3)]
    assert len(rows_of(tmp_path / "s.jsonl")) == 6
    assert not partial.exists()


def test_resume_of_a_finished_output_scores_nothing_again(tiny_model_dir, tmp_path):
    docs = write(tmp_path / "a.txt", GOOD)
    out = tmp_path / "o.jsonl"
    predict.run([str(docs)], tiny_model_dir, out, quiet=True)
    before = out.read_text()
    counts = predict.run([str(docs)], tiny_model_dir, out, resume=True, quiet=True)
    assert counts["documents"] == 0 and counts["resumed"] == 1 and out.read_text() == before


# ----------------------------------------------------------------- bad input: skip and go on


def run_skipping(tiny_model_dir, *paths: Path) -> subprocess.CompletedProcess:
    result = cli("predict", *map(str, paths), "--model", str(tiny_model_dir))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_empty_file_is_skipped(tiny_model_dir, tmp_path):
    r = run_skipping(tiny_model_dir, write(tmp_path / "empty.txt", ""), write(tmp_path / "ok.txt", GOOD))
    assert f"skipped {tmp_path / 'empty.txt'}: empty text" in r.stderr
    assert "1 documents, 3 sentences" in r.stderr and "skipped 1 (1 empty text)" in r.stderr


def test_whitespace_only_text_is_skipped(tiny_model_dir, tmp_path):
    docs = write(tmp_path / "d.jsonl", '{"id": "blank", "text": "  \\n\\t "}\n{"id": "ok", "text": "Talks ended."}\n')
    r = run_skipping(tiny_model_dir, docs)
    assert f"{docs}:1: empty text" in r.stderr and [json.loads(x)["doc_id"] for x in r.stdout.splitlines()] == ["ok"]


def test_non_utf8_file_is_skipped(tiny_model_dir, tmp_path):
    bad = write(tmp_path / "latin1.txt", "Le président est arrivé à Dakar.".encode("latin-1"))
    r = run_skipping(tiny_model_dir, bad, write(tmp_path / "ok.txt", GOOD))
    assert f"skipped {bad}: not UTF-8" in r.stderr and "1 documents" in r.stderr


def test_non_utf8_jsonl_line_is_skipped(tiny_model_dir, tmp_path):
    docs = write(tmp_path / "d.jsonl", b'{"id": "a", "text": "caf\xe9"}\n{"id": "b", "text": "Talks ended."}\n')
    r = run_skipping(tiny_model_dir, docs)
    assert f"{docs}:1: not UTF-8" in r.stderr and "1 documents" in r.stderr


def test_jsonl_line_that_is_not_json_is_skipped(tiny_model_dir, tmp_path):
    docs = write(tmp_path / "d.jsonl", '{"id": "a", "text": "Talks ended."}\nnot json at all\n')
    r = run_skipping(tiny_model_dir, docs)
    assert f"{docs}:2: not JSON" in r.stderr and "1 documents" in r.stderr


def test_jsonl_line_without_text_is_skipped(tiny_model_dir, tmp_path):
    docs = write(tmp_path / "d.jsonl", '{"id": "a", "body": "Talks ended."}\n{"id": "b", "text": "Talks ended."}\n')
    r = run_skipping(tiny_model_dir, docs)
    assert f"{docs}:1: expected an object with 'id' and 'text'" in r.stderr


def test_duplicate_ids_are_skipped_after_the_first(tiny_model_dir, tmp_path):
    docs = write(tmp_path / "d.jsonl", '{"id": "a", "text": "First."}\n{"id": "a", "text": "Second."}\n')
    r = run_skipping(tiny_model_dir, docs)
    assert "duplicate id 'a'" in r.stderr
    assert [json.loads(x)["text"] for x in r.stdout.splitlines()] == ["First."]


def test_text_of_several_megabytes_is_skipped_with_the_limit(tiny_model_dir, tmp_path):
    huge = write(tmp_path / "dump.txt", "The minister arrived in Lima. " * 100_000)  # 3 MB
    r = run_skipping(tiny_model_dir, huge, write(tmp_path / "ok.txt", GOOD))
    assert f"skipped {huge}: text of 3,000,000 characters is above the limit of 2,000,000" in r.stderr
    assert "1 documents" in r.stderr


# ----------------------------------------------------------------- bad input: stop at once


def one_line_failure(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_missing_model_folder_stops_at_once(tmp_path):
    err = one_line_failure(cli("predict", str(SEEDS), "--model", str(tmp_path / "nope")))
    assert "no model folder here" in err


def test_corrupt_model_folder_stops_at_once(tiny_model_dir, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    err = one_line_failure(cli("predict", str(SEEDS), "--model", str(broken)))
    assert f"{broken}: cannot load weights or tokenizer" in err
    (broken / "newsevents.json").write_text('{"labels": ["visit"]}', encoding="utf-8")
    assert "unreadable" in one_line_failure(cli("predict", str(SEEDS), "--model", str(broken)))


def test_unwritable_output_path_stops_at_once(tiny_model_dir, tmp_path):
    blocker = write(tmp_path / "file.txt", "x")
    err = one_line_failure(cli("predict", str(SEEDS), "--model", str(tiny_model_dir), "--output", str(blocker / "out.jsonl")))
    assert f"{blocker / 'out.jsonl'}: cannot write here" in err


def test_missing_input_stops_at_once(tiny_model_dir, tmp_path):
    err = one_line_failure(cli("predict", str(tmp_path / "nothing.txt"), "--model", str(tiny_model_dir)))
    assert "nothing.txt: no such file or folder" in err
