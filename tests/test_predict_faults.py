"""`newsevents predict` under hostile-but-fair input and faults: nothing the user had is lost,
no run that cannot be trusted exits 0, and every refusal is one line naming the file."""

import csv
import fcntl
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsevents import predict
from newsevents.outputs import csv_safe, csv_unsafe

from conftest import SEEDS, interrupted_after

GOOD = "The president arrived in Nairobi on Monday. Talks on trade followed.\nRain is expected."


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsevents.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=300)


def one_line(result: subprocess.CompletedProcess, code: int = 1) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def docs_file(path: Path, n: int, text: str = GOOD) -> Path:
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": text}) + "\n" for i in range(n)), encoding="utf-8")
    return path


# ------------------------------------------------------------ numbers are checked at parse time

@pytest.mark.parametrize("flag, value, problem", [
    ("--batch-size", "-5", "must be at least 1"), ("--batch-size", "0", "must be at least 1"),
    ("--threads", "-3", "must be at least 1"), ("--threshold-scale", "nan", "must be a finite number above 0"),
    ("--threshold-scale", "-1", "must be a finite number above 0"),
    ("--threshold-scale", "0", "must be a finite number above 0"),
])
def test_meaningless_numbers_are_refused_before_the_model_loads(tmp_path, flag, value, problem):
    out = tmp_path / "o.jsonl"
    err = one_line(cli("predict", str(SEEDS), "--model", str(tmp_path / "no-model"), "--output", str(out),
                       flag, value), code=2)
    assert f"argument {flag}: {problem}" in err
    assert list(tmp_path.iterdir()) == []  # no .partial, nothing at all


def test_the_library_refuses_them_too(tiny_model_dir, tmp_path):
    for kwargs in ({"batch_size": 0}, {"threads": -3}, {"threshold_scale": float("nan")}):
        with pytest.raises(ValueError):
            predict.run([str(SEEDS)], tiny_model_dir, tmp_path / "o.jsonl", quiet=True, **kwargs)
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------- outputs never overwrite what the user has

def test_output_that_is_an_input_is_refused_and_the_input_kept(tiny_model_dir, tmp_path):
    docs = docs_file(tmp_path / "docs.jsonl", 2)
    before = docs.read_bytes()
    err = one_line(cli("predict", str(docs), "--model", str(tiny_model_dir), "--output", str(docs)))
    assert "--output is one of the inputs" in err and docs.read_bytes() == before
    txt = tmp_path / "folder" / "a.txt"
    txt.parent.mkdir()
    txt.write_text(GOOD, encoding="utf-8")
    err = one_line(cli("predict", str(txt.parent), "--model", str(tiny_model_dir), "--summary", str(txt)))
    assert "--summary is one of the inputs" in err and txt.read_text(encoding="utf-8") == GOOD


def test_summary_that_is_the_output_is_refused(tiny_model_dir, tmp_path):
    out = tmp_path / "o.jsonl"
    err = one_line(cli("predict", str(SEEDS), "--model", str(tiny_model_dir), "--output", str(out),
                       "--summary", str(out)))
    assert "--summary is the same file as --output" in err and not out.exists()


def test_a_folder_as_output_and_an_unwritable_summary_fail_before_the_model_loads(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    no_model = str(tmp_path / "no-model")  # a model error would mean the paths were checked too late
    err = one_line(cli("predict", str(SEEDS), "--model", no_model, "--output", str(tmp_path)))
    assert f"{tmp_path}: is a folder; --output takes a file name" in err
    err = one_line(cli("predict", str(SEEDS), "--model", no_model, "--summary", str(blocker / "s.csv")))
    assert f"{blocker / 's.csv'}: cannot write here" in err and ".partial" not in err


def test_a_second_writer_to_the_same_output_is_refused(tiny_model_dir, tmp_path):
    out = tmp_path / "o.jsonl"
    lock = tmp_path / "o.jsonl.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # the first writer, still running
    try:
        err = one_line(cli("predict", str(SEEDS), "--model", str(tiny_model_dir), "--output", str(out)))
    finally:
        os.close(fd)
    assert "another newsevents predict is writing it" in err and not out.exists()
    predict.run([str(SEEDS)], tiny_model_dir, out, quiet=True)  # once it is free, the run goes through
    assert out.exists() and not lock.exists()


# --------------------------------------------------------------- one bad document stops nothing

def test_a_lone_surrogate_skips_its_document_and_no_other(tiny_model_dir, tmp_path):
    docs = tmp_path / "docs.jsonl"
    lines = [json.dumps({"id": f"d{i}", "text": GOOD}) for i in range(3)]
    lines.insert(1, '{"id": "bad", "text": "Troops \\ud800 arrived."}')
    docs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    result = cli("predict", str(docs), "--model", str(tiny_model_dir), "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert f"{docs}:2: text holds a lone surrogate" in result.stderr
    assert sorted({json.loads(l)["doc_id"] for l in out.read_text().splitlines()}) == ["d0", "d1", "d2"]


def test_a_text_the_backend_cannot_score_skips_that_document_only(tiny_model_dir, tmp_path):
    from newsevents.backends import load_backend
    from newsevents.schema import Article

    backend = load_backend(tiny_model_dir)
    real = backend.scores

    def fails_on_poison(texts):
        if any("POISON" in t for t in texts):
            raise RuntimeError("tokenizer failed")
        return real(texts)

    backend.scores = fails_on_poison
    problems = []
    articles = [Article("a", GOOD), Article("b", "POISON here."), Article("c", GOOD)]
    done = [a.id for a, _ in predict.predict_articles(backend, articles, on_problem=problems.append)]
    assert done == ["a", "c"] and problems == ["b: cannot score (RuntimeError: tokenizer failed)"]


# ------------------------------------------------------------------ resume never mixes two runs

def test_rows_name_their_backend_and_thresholds_and_resume_refuses_other_settings(tiny_model_dir, tmp_path):
    docs = docs_file(tmp_path / "docs.jsonl", 3)
    out = tmp_path / "o.jsonl"
    partial = tmp_path / "o.jsonl.partial"
    predict.run([str(docs)], tiny_model_dir, out, quiet=True)
    row = json.loads(out.read_text().splitlines()[0])
    assert row["backend"] == "torch" and set(row["thresholds"]) == {"visit", "treaty", "strike", "sentence", "sanction"}
    out.rename(partial)
    before = partial.read_text()
    err = one_line(cli("predict", str(docs), "--model", str(tiny_model_dir), "--output", str(out),
                       "--resume", "--threshold-scale", "0.5"))
    assert "cannot resume: its rows were made with another thresholds" in err
    err = one_line(cli("predict", str(docs), "--model", str(tiny_model_dir), "--output", str(out),
                       "--resume", "--format", "csv"))
    assert "cannot resume: it holds JSONL rows, and this run writes CSV" in err
    assert partial.read_text() == before and not out.exists()


def test_csv_with_line_breaks_resumes_to_the_rows_of_a_clean_run(tiny_model_dir, tmp_path, monkeypatch):
    text = 'He said:\n"The minister arrived in Lima,\nand talks began." Rain fell.'
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"id": f"d{i}", "text": text}) + "\n" for i in range(8)), encoding="utf-8")
    clean = tmp_path / "clean.csv"
    predict.run([str(docs)], tiny_model_dir, clean, fmt="csv", unit="sentence", quiet=True)
    out = tmp_path / "o.csv"
    real = predict.predict_articles

    monkeypatch.setattr(predict, "predict_articles", interrupted_after(5, real))
    with pytest.raises(KeyboardInterrupt):
        predict.run([str(docs)], tiny_model_dir, out, fmt="csv", unit="sentence", quiet=True)
    partial = tmp_path / "o.csv.partial"
    with partial.open("a", encoding="utf-8") as f:
        f.write('d5,d5:0,0,60,"He said:\n"The min')  # a record cut inside a quoted, multi-line cell
    monkeypatch.setattr(predict, "predict_articles", real)
    predict.run([str(docs)], tiny_model_dir, out, fmt="csv", unit="sentence", resume=True, quiet=True)
    assert out.read_text() == clean.read_text()
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["doc_id"] for r in rows] == [f"d{i}" for i in range(8)]


# -------------------------------------------------------------------------------- input folders

def test_same_name_in_two_folders_is_two_articles_and_skipped_files_are_named(tiny_model_dir, tmp_path):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text(GOOD, encoding="utf-8")
    (root / "sub" / "a.txt").write_text("Troops shelled the town.", encoding="utf-8")
    (root / "report.pdf").write_bytes(b"%PDF-1.4")
    (root / "linked").symlink_to(root / "sub")
    result = cli("predict", str(root), "--model", str(tiny_model_dir))
    assert result.returncode == 0, result.stderr
    assert sorted({json.loads(l)["doc_id"] for l in result.stdout.splitlines()}) == ["a", "sub/a"]
    assert f"skipped {root / 'report.pdf'}: not a .txt file" in result.stderr
    assert f"skipped {root / 'linked'}: symlinked folder, not followed" in result.stderr
    assert "skipped 2 (1 symlinked folder, not followed, 1 not a .txt file)" in result.stderr.splitlines()[-1]


# --------------------------------------------------------------------------- interrupts, pipes

def test_ctrl_c_prints_one_line_keeps_the_partial_and_exits_130(tiny_model_dir, tmp_path):
    out = tmp_path / "o.jsonl"
    # Ctrl-C as in a terminal: a runner started in the background (`cmd &`) ignores SIGINT, and an
    # ignored signal is inherited, so the child gets the default disposition back.
    proc = subprocess.Popen([sys.executable, "-m", "newsevents.cli", "predict", "-", "--model", str(tiny_model_dir),
                             "--output", str(out)], stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    proc.stdin.write(json.dumps({"id": "d0", "text": GOOD}) + "\n")
    proc.stdin.flush()  # stdin stays open: the run waits for more documents
    partial = tmp_path / "o.jsonl.partial"
    for _ in range(600):
        if partial.exists():
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == (f"newsevents: interrupted; the finished documents are kept in "
                                             f"{out}.partial: rerun with --resume")
    assert "Traceback" not in err and partial.exists() and not out.exists()


def test_a_closed_pipe_ends_quietly(tiny_model_dir, tmp_path):
    docs = docs_file(tmp_path / "docs.jsonl", 400)
    proc = subprocess.Popen([sys.executable, "-m", "newsevents.cli", "predict", str(docs), "--model",
                             str(tiny_model_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert proc.returncode == 141 and "Traceback" not in err and "Error" not in err


# --------------------------------------------------------------------------------- CSV injection

def test_csv_cells_that_would_run_as_formulas_are_neutralised(tiny_model_dir, tmp_path):
    docs = tmp_path / "docs.jsonl"
    docs.write_text(json.dumps({"id": "@SUM(A1)", "text": "=HYPERLINK(\"http://x\") The army shelled the town."}) + "\n",
                    encoding="utf-8")
    out, summary = tmp_path / "o.csv", tmp_path / "s.csv"
    predict.run([str(docs)], tiny_model_dir, out, fmt="csv", unit="sentence", summary=summary, quiet=True)
    row = next(csv.DictReader(io.StringIO(out.read_text())))
    assert row["doc_id"] == "'@SUM(A1)" and row["text"].startswith("'=HYPERLINK")
    assert next(csv.DictReader(io.StringIO(summary.read_text())))["doc_id"] == "'@SUM(A1)"
    for cell in ("=1+1", "+1", "-1", "@x", "'=x", "''=x", "''x", "plain", "'quoted", ""):
        assert csv_unsafe(csv_safe(cell)) == cell
        assert not csv_safe(cell).startswith(("=", "+", "-", "@"))


# -------------------------------------------------------------------------------- small points

def test_a_byte_order_mark_is_not_text(tiny_model_dir, tmp_path):
    txt = tmp_path / "bom.txt"
    txt.write_bytes("\ufeffThe army shelled the town.".encode())
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes(("\ufeff" + json.dumps({"id": "j", "text": "Rain fell."}) + "\n").encode())
    result = cli("predict", str(txt), str(jsonl), "--model", str(tiny_model_dir))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(l) for l in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["The army shelled the town.", "Rain fell."]
    assert rows[0]["start"] == 0


def test_duplicate_ids_and_json_errors_say_where_and_what(tiny_model_dir, tmp_path):
    docs = tmp_path / "docs.jsonl"
    docs.write_text(json.dumps({"id": "x", "text": GOOD}) + "\n" + '{"id": "y", "text": "a\tb\x01"}\n'
                    + json.dumps({"id": "x", "text": GOOD}) + "\n", encoding="utf-8")
    result = cli("predict", str(docs), "--model", str(tiny_model_dir))
    assert f"{docs}:3: duplicate id 'x' (first at {docs}:1)" in result.stderr
    assert f"{docs}:2: not JSON: Invalid control character at: column 23" in result.stderr


def test_plain_text_on_stdin_is_one_error_and_a_failed_run(tiny_model_dir):
    err = one_line(cli("predict", "-", "--model", str(tiny_model_dir), stdin="Troops arrived.\nMore text.\n"))
    assert "<stdin>:1: not JSON: `-` reads JSONL" in err


def test_nothing_readable_is_a_failed_run(tiny_model_dir, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    result = cli("predict", str(empty), "--model", str(tiny_model_dir), "--output", str(out))
    assert result.returncode == 1 and "nothing could be read" in result.stderr.splitlines()[-1]
    assert not out.exists() and not (tmp_path / "o.jsonl.partial").exists()
