"""Against a real Label Studio server started by the test session (scripts/labelstudio.sh)."""

import json
import os
import subprocess
import sys

import pytest

from newsevents.labelstudio import client as ls
from newsevents.labelstudio.client import LabelStudioError
from newsevents.labelstudio.export import parse_export
from newsevents.labelstudio.tasks import choices_result

from conftest import ROOT, _free_port, model_copy

pytestmark = pytest.mark.labelstudio
N_SEED_SENTENCES = 153


def newsevents(*args: str, env: dict[str, str], cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "newsevents.cli", *args], env=env, cwd=cwd,
        capture_output=True, text=True, timeout=300,
    )


def env_with(settings: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **settings}


def test_push_twice_annotate_pull_and_parse(labelstudio_server, tmp_path):
    env = env_with(labelstudio_server)
    first = newsevents("ls", "push", "--project", "roundtrip", env=env)
    assert first.returncode == 0, first.stderr
    assert f"imported {N_SEED_SENTENCES} new tasks, 0 already there" in first.stderr
    second = newsevents("ls", "push", "--project", "roundtrip", env=env)
    assert second.returncode == 0, second.stderr
    assert f"imported 0 new tasks, {N_SEED_SENTENCES} already there" in second.stderr

    client = ls.connect(labelstudio_server["LABEL_STUDIO_URL"], labelstudio_server["LABEL_STUDIO_API_KEY"])
    project = next(p for p in client.projects.list(title="roundtrip") if p.title == "roundtrip")
    tasks = list(client.tasks.list(project=project.id, page_size=500))
    assert len(tasks) == N_SEED_SENTENCES
    assert len({t.data["sentence_id"] for t in tasks}) == N_SEED_SENTENCES
    target = next(t for t in tasks if t.data["sentence_id"] == "001_df33677249d575f2:60")
    client.annotations.create(id=target.id, result=choices_result(["sanction"]))

    out = tmp_path / "roundtrip.json"
    pulled = newsevents("ls", "pull", "--project", "roundtrip", "--output", str(out), env=env)
    assert pulled.returncode == 0, pulled.stderr
    parsed = parse_export(out)
    assert [(e.id, e.labels) for e in parsed.examples] == [("001_df33677249d575f2:60", ("sanction",))]
    assert "designated two people and seven companies" in parsed.examples[0].text
    assert len(parsed.excluded) == N_SEED_SENTENCES - 1

    again = tmp_path / "again.json"
    newsevents("ls", "pull", "--project", "roundtrip", "--output", str(again), env=env)
    assert again.read_bytes() == out.read_bytes()  # a re-export gives a clean git diff
    assert labelstudio_server["LABEL_STUDIO_API_KEY"] not in out.read_text()


def test_newswire_first_pass_labels_arrive_as_predictions_and_review_is_recorded(labelstudio_server, tmp_path):
    env = env_with(labelstudio_server)
    rows = [json.loads(x) for x in (ROOT / "seeds" / "newswire.jsonl").read_text(encoding="utf-8").splitlines()[:6]]
    src = tmp_path / "newswire.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    args = ("ls", "push", str(src), "--source", "newswire", "--project", "nw-review")
    first = newsevents(*args, env=env)
    assert first.returncode == 0, first.stderr
    assert "imported 6 new tasks, 0 already there" in first.stderr
    assert "imported 0 new tasks, 6 already there" in newsevents(*args, env=env).stderr

    client = ls.connect(labelstudio_server["LABEL_STUDIO_URL"], labelstudio_server["LABEL_STUDIO_API_KEY"])
    project = next(p for p in client.projects.list(title="nw-review") if p.title == "nw-review")
    tasks = {t.data["sentence_id"]: t for t in client.tasks.list(project=project.id, page_size=500, fields="all")}
    assert len(tasks) == 6 and not any(t.annotations for t in tasks.values())  # nothing is gold until reviewed
    for row in rows:
        [pred] = tasks[f"newswire:{row['id']}"].predictions
        pred = pred if isinstance(pred, dict) else pred.dict()
        assert pred["model_version"] == "first-pass"
        assert [c for c in pred["result"][0]["value"]["choices"] if c != "none"] == row["labels"]
    # Review two tasks the way the interface does: accept one prediction, correct another with a reason.
    accept, correct = (tasks[f"newswire:{rows[i]['id']}"] for i in (0, 2))
    for task, labels, reason in ((accept, rows[0]["labels"], ""), (correct, ["visit"], "Rule 6d: test")):
        result = choices_result(labels) + ([{"from_name": "reason", "to_name": "text", "type": "textarea",
                                             "value": {"text": [reason]}}] if reason else [])
        pred = task.predictions[0] if isinstance(task.predictions[0], dict) else task.predictions[0].dict()
        client.annotations.create(id=task.id, result=result, parent_prediction=pred["id"])

    out = tmp_path / "nw.json"
    assert newsevents("ls", "pull", "--project", "nw-review", "--output", str(out), env=env).returncode == 0
    parsed = parse_export(out)
    assert {e.id for e in parsed.examples} == {accept.data["sentence_id"], correct.data["sentence_id"]}
    assert all(e.group == r["source"] for e in parsed.examples for r in rows if e.id == f"newswire:{r['id']}")
    reviewed = {r["sentence_id"]: r for r in parsed.reviewed}
    assert reviewed[accept.data["sentence_id"]]["labels"] == rows[0]["labels"] == reviewed[accept.data["sentence_id"]]["first_pass"]
    assert reviewed[correct.data["sentence_id"]] == {
        "sentence_id": correct.data["sentence_id"], "source": "newswire", "first_pass": rows[2]["labels"],
        "labels": ["visit"], "reason": "Rule 6d: test"}
    assert len(parsed.excluded) == 4  # not reviewed yet: not gold


def test_wrong_token_is_a_one_line_error(labelstudio_server):
    env = env_with({**labelstudio_server, "LABEL_STUDIO_API_KEY": "not-the-token"})
    result = newsevents("ls", "pull", env=env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "rejected LABEL_STUDIO_API_KEY" in result.stderr
    with pytest.raises(LabelStudioError, match="rejected"):
        ls.connect(labelstudio_server["LABEL_STUDIO_URL"], "not-the-token")


def test_missing_token_is_a_one_line_error():
    env = {k: v for k, v in os.environ.items() if k != "LABEL_STUDIO_API_KEY"}
    result = newsevents("ls", "push", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        'newsevents: error: LABEL_STUDIO_API_KEY is not set: start it with `make labelstudio`, '
        'then run eval "$(scripts/labelstudio.sh env)"'
    )


def test_unreachable_server_is_a_one_line_error():
    url = f"http://127.0.0.1:{_free_port()}"
    env = {**os.environ, "LABEL_STUDIO_URL": url, "LABEL_STUDIO_API_KEY": "x"}
    result = newsevents("ls", "pull", env=env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"cannot reach Label Studio at {url}" in result.stderr and "LABEL_STUDIO_URL" in result.stderr


def test_pre_annotations_new_model_versions_and_no_duplicates(labelstudio_server, tiny_model_dir, tmp_path):
    env = env_with(labelstudio_server)
    article = tmp_path / "articles" / "new_article.txt"
    article.parent.mkdir()
    article.write_text("The foreign minister arrived in Lima on Monday. Talks on fishing rights followed.\n"
                       "A court jailed two smugglers. Markets were calm.", encoding="utf-8")
    args = ("ls", "push", str(article.parent), "--project", "assisted", "--predictions", "--model")
    first = newsevents(*args, str(tiny_model_dir), env=env)
    assert first.returncode == 0, first.stderr
    newer = model_copy(tiny_model_dir, tmp_path / "newer", version="tiny-test-2")
    second = newsevents(*args, str(newer), env=env)
    assert second.returncode == 0, second.stderr
    assert "imported 0 new tasks, 4 already there" in second.stderr

    client = ls.connect(labelstudio_server["LABEL_STUDIO_URL"], labelstudio_server["LABEL_STUDIO_API_KEY"])
    project = next(p for p in client.projects.list(title="assisted") if p.title == "assisted")
    tasks = list(client.tasks.list(project=project.id, page_size=100, fields="all"))
    assert len(tasks) == 4
    for task in tasks:
        preds = [p if isinstance(p, dict) else p.dict() for p in task.predictions]
        assert sorted(p["model_version"] for p in preds) == ["tiny-test", "tiny-test-2"]
        assert all(p["result"][0]["value"]["choices"] for p in preds)


def test_uncertainty_sampling_imports_the_least_sure_first(labelstudio_server, tiny_model_dir):
    env = env_with(labelstudio_server)
    result = newsevents("ls", "push", "seeds", "--project", "uncertain", "--select", "uncertain", "--limit", "7",
                        "--predictions", "--model", str(tiny_model_dir), env=env)
    assert result.returncode == 0, result.stderr
    assert "importing 7 (uncertain)" in result.stderr
    client = ls.connect(labelstudio_server["LABEL_STUDIO_URL"], labelstudio_server["LABEL_STUDIO_API_KEY"])
    project = next(p for p in client.projects.list(title="uncertain") if p.title == "uncertain")
    tasks = sorted(client.tasks.list(project=project.id, page_size=100, fields="all"), key=lambda t: t.id)
    assert [t.data["selection_rank"] for t in tasks] == list(range(1, 8))
    margins = [t.data["uncertainty"] for t in tasks]
    assert margins == sorted(margins)


def test_review_queue_marks_tasks_and_adds_a_tab(labelstudio_server):
    pushed = newsevents("ls", "push", "--project", "review", env=env_with(labelstudio_server))
    assert pushed.returncode == 0, pushed.stderr
    client = ls.connect(labelstudio_server["LABEL_STUDIO_URL"], labelstudio_server["LABEL_STUDIO_API_KEY"])
    project = next(p for p in client.projects.list(title="review") if p.title == "review")
    issues = [{"id": "000_8c045d6ba132c515:3", "rank": 1, "reason": "gold lacks treaty but the model gives it 0.97"}]
    assert ls.mark_for_review(client, project.id, issues) == 1
    assert ls.mark_for_review(client, project.id, issues) == 1  # idempotent, one tab only
    views = [v for v in client.views.list(project=project.id) if v.data and v.data.get("title") == ls.REVIEW_VIEW]
    assert len(views) == 1
    marked = [t for t in client.tasks.list(project=project.id, page_size=500, fields="all") if "review_rank" in t.data]
    assert [(t.data["sentence_id"], t.data["review_reason"]) for t in marked] == [
        ("000_8c045d6ba132c515:3", "gold lacks treaty but the model gives it 0.97")]


def test_ls_review_marks_doubtful_labels_in_the_pool_project_too(labelstudio_server, tmp_path):
    env = env_with(labelstudio_server)
    rows = [{"id": "p1", "text": "The two sides agreed to share information.", "page": "https://example.org/p", "doc": "d1"},
            {"id": "p2", "text": "Troops shelled the town overnight.", "page": "https://example.org/p", "doc": "d1"}]
    src = tmp_path / "pool.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pushed = newsevents("ls", "push", str(src), "--source", "pool", "--project", "pool-review", env=env)
    assert pushed.returncode == 0, pushed.stderr
    issues = tmp_path / "issues.jsonl"
    issues.write_text(json.dumps({"id": "pool:p1", "source": "pool", "rank": 1,
                                  "reason": "gold lacks treaty but the model gives it 0.98"}) + "\n", encoding="utf-8")
    marked = newsevents("ls", "review", "--issues", str(issues), "--pool-project", "pool-review", env=env)
    assert marked.returncode == 0, marked.stderr
    client = ls.connect(labelstudio_server["LABEL_STUDIO_URL"], labelstudio_server["LABEL_STUDIO_API_KEY"])
    project = next(p for p in client.projects.list(title="pool-review") if p.title == "pool-review")
    tasks = [t for t in client.tasks.list(project=project.id, page_size=100, fields="all") if "review_rank" in t.data]
    assert [(t.data["sentence_id"], t.data["review_rank"]) for t in tasks] == [("pool:p1", 1)]


def test_blind_source_two_annotators_and_an_adjudication_round_trip(labelstudio_server, tmp_path):
    """Held-out rows are pushed without pre-annotations; two annotators answer under their own
    accounts; an adjudicator's ground-truth answer settles their disagreement."""
    env = env_with(labelstudio_server)
    rows = [{"id": "h1", "text": "The Treasury lifted sanctions on the bank.", "page": "https://example.org/a"},
            {"id": "h2", "text": "Troops shelled the town overnight.", "page": "https://example.org/b"}]
    src = tmp_path / "heldout.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pushed = newsevents("ls", "push", str(src), "--source", "heldout", "--project", "blind", env=env)
    assert pushed.returncode == 0, pushed.stderr
    refused = newsevents("ls", "push", str(src), "--source", "heldout", "--project", "blind", "--predictions", env=env)
    assert refused.returncode == 1 and "annotated blind" in refused.stderr

    def as_annotator(name: str) -> dict[str, str]:
        out = subprocess.run([str(ROOT / "scripts" / "labelstudio.sh"), "annotator", name], env=env,
                             capture_output=True, text=True, timeout=300, check=True).stdout
        return {**env, **dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())}

    answers = {"ann-a": [["sanction"], ["strike"]], "ann-b": [[], ["strike"]], "judge": [[], ["strike"]]}
    for name, labels in answers.items():
        f = tmp_path / f"{name}.jsonl"
        f.write_text("".join(json.dumps({"id": r["id"], "labels": lab, "rule": "rule 30" if not lab and name == "judge" else ""}) + "\n"
                             for r, lab in zip(rows, labels)), encoding="utf-8")
        args = ["ls", "answer", str(f), "--project", "blind", "--source", "heldout"] + (["--ground-truth"] if name == "judge" else [])
        first = newsevents(*args, env=as_annotator(name))
        assert first.returncode == 0 and "submitted 2 answers" in first.stderr, first.stderr
        assert "submitted 0 answers" in newsevents(*args, env=as_annotator(name)).stderr  # twice adds nothing

    out = tmp_path / "blind.json"
    assert newsevents("ls", "pull", "--project", "blind", "--output", str(out), env=env).returncode == 0
    tasks = json.loads(out.read_text())
    assert not any(t.get("predictions") for t in tasks)  # nobody saw a model's answer
    parsed = parse_export(out)
    assert {e.id: e.labels for e in parsed.examples} == {"heldout:h1": (), "heldout:h2": ("strike",)}
    assert [m["sentence_id"] for m in parsed.multi] == ["heldout:h1", "heldout:h2"]
    assert all(len(m["answers"]) == 2 for m in parsed.multi)  # the two annotators, not the judge
    assert [d["adjudicated"] for d in parsed.disagreements] == ["rule 30"]


def test_pool_rounds_select_new_sentences_with_a_random_share_and_blind_tasks(labelstudio_server, tiny_model_dir,
                                                                                tmp_path):
    rows = [{"id": f"p{i:02d}", "text": f"Sentence {i} of article {i // 4}: the minister arrived in Lima.",
             "page": "https://example.org/dataset.csv", "doc": f"a{i // 4}"} for i in range(24)]
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    env = env_with(labelstudio_server)
    args = ("ls", "push", str(pool), "--source", "pool", "--project", "pool-loop", "--predictions",
            "--select", "uncertain", "--limit", "8", "--random-share", "0.25", "--blind-share", "0.5",
            "--model", str(tiny_model_dir))
    for _ in range(2):  # the second round selects 8 sentences the project does not have yet
        result = newsevents(*args, env=env)
        assert result.returncode == 0, result.stderr
        assert "imported 8 new tasks, 0 already there" in result.stderr
    client = ls.connect(labelstudio_server["LABEL_STUDIO_URL"], labelstudio_server["LABEL_STUDIO_API_KEY"])
    project = next(p for p in client.projects.list(title="pool-loop") if p.title == "pool-loop")
    tasks = list(client.tasks.list(project=project.id, page_size=100, fields="all"))
    assert len({t.data["sentence_id"] for t in tasks}) == 16
    blind = [t for t in tasks if t.data.get("blind")]
    assert len(blind) == 8 and not any(t.predictions for t in blind)
    assert all(t.predictions for t in tasks if not t.data.get("blind"))
    for t in tasks:  # neighbours come from the same article only, and the article is the fold group
        i = int(t.data["sentence_id"].removeprefix("pool:p"))
        assert t.data["group"] == f"doc:a{i // 4}"
        assert (t.data["context_before"] == "") == (i % 4 == 0)


def test_the_server_command_line_shows_no_secret(labelstudio_server):
    from pathlib import Path

    data = Path(labelstudio_server["LABEL_STUDIO_DATA"])
    pid = (data / "server.pid").read_text().strip()
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
    credentials = dict(line.split("=", 1) for line in (data / "credentials.env").read_text().splitlines())
    assert "label-studio" in cmdline
    assert credentials["LABEL_STUDIO_PASSWORD"] not in cmdline
    assert credentials["LABEL_STUDIO_USER_TOKEN"] not in cmdline
    assert oct(data.stat().st_mode & 0o777) == "0o700"


def _client(server):
    return ls.connect(server["LABEL_STUDIO_URL"], server["LABEL_STUDIO_API_KEY"])


def _next_task(server, project_id: int) -> dict:
    """The task the labeling stream opens next, as the annotator's browser gets it."""
    import httpx

    reply = httpx.get(f"{server['LABEL_STUDIO_URL']}/api/projects/{project_id}/next",
                      headers={"Authorization": f"Token {server['LABEL_STUDIO_API_KEY']}"}, timeout=60)
    reply.raise_for_status()
    return reply.json()


def test_the_labeling_stream_pre_ticks_the_newest_pushed_model(labelstudio_server, tiny_model_dir, tmp_path):
    env = env_with(labelstudio_server)
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "a.txt").write_text("The foreign minister arrived in Lima on Monday. Markets were calm.", encoding="utf-8")
    args = ("ls", "push", str(articles), "--project", "stream", "--predictions", "--model")
    first = newsevents(*args, str(tiny_model_dir), env=env)
    assert first.returncode == 0, first.stderr
    newer = model_copy(tiny_model_dir, tmp_path / "newer", version="tiny-test-2")
    (articles / "b.txt").write_text("A court jailed two smugglers for six years.", encoding="utf-8")
    second = newsevents(*args, str(newer), env=env)
    assert second.returncode == 0, second.stderr
    assert "updated" not in second.stderr  # the server kept the rendered guidelines as sent
    assert "now shows the predictions of model tiny-test-2" in second.stderr

    client = _client(labelstudio_server)
    project = ls.find_project(client, "stream")
    assert project.model_version == "tiny-test-2"
    assert "<table>" in project.expert_instruction and "<pre>" not in project.expert_instruction
    tasks = {t.id: t for t in client.tasks.list(project=project.id, page_size=100, fields="all")}
    assert len(tasks) == 3
    offered = _next_task(labelstudio_server, project.id)
    assert [p["model_version"] for p in offered["predictions"]] == ["tiny-test-2"]
    [expected] = [p if isinstance(p, dict) else p.dict() for p in tasks[offered["id"]].predictions
                  if (p if isinstance(p, dict) else p.dict())["model_version"] == "tiny-test-2"]
    assert offered["predictions"][0]["result"][0]["value"]["choices"] == expected["result"][0]["value"]["choices"]
    assert 0.0 <= offered["predictions"][0]["score"] <= 1.0

    [view] = [v for v in client.views.list(project=project.id) if v.data.get("title") == ls.UNCERTAIN_VIEW]
    assert view.data["ordering"] == ["tasks:data.uncertainty"]
    assert view.data["columnsDisplayType"] == {"tasks:data.uncertainty": "Number", "tasks:data.selection_rank": "Number"}
    hidden = set(view.data["hiddenColumns"]["explore"])
    assert not hidden & {"tasks:predictions_score", "tasks:predictions_model_versions", "tasks:data.uncertainty"}


def test_contradictory_choice_gets_a_tab_and_pull_lists_it(labelstudio_server, tmp_path):
    env = env_with(labelstudio_server)
    config = (ROOT / "labels" / "config.xml").read_text(encoding="utf-8")
    client = _client(labelstudio_server)
    # A project made with the earlier config, whose "No event" choice read "none": its answers stay valid.
    project_id = ls.ensure_project(client, "slips", config.replace('value="No event"', 'value="none"'))
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "a.txt").write_text("The minister arrived in Lima. Markets were calm. Rain fell.", encoding="utf-8")
    assert newsevents("ls", "push", str(articles), "--project", "slips", env=env).returncode == 0
    tasks = sorted(client.tasks.list(project=project_id, page_size=100), key=lambda t: t.id)
    client.annotations.create(id=tasks[0].id, result=choices_result(["visit"]))
    client.annotations.create(id=tasks[1].id, result=choices_result([]))  # "none"
    slip = choices_result(["visit"])
    slip[0]["value"]["choices"] = ["visit", "none"]
    client.annotations.create(id=tasks[2].id, result=slip)

    again = newsevents("ls", "push", str(articles), "--project", "slips", env=env)
    assert again.returncode == 0, again.stderr
    assert "1 task(s) chose 'No event' with an event type" in again.stderr
    assert ls.find_project(client, "slips").label_config.count('alias="none"') == 1  # the new config took
    [view] = [v for v in client.views.list(project=project_id) if v.data.get("title") == ls.CONTRADICTION_VIEW]
    listed = client.tasks.list(project=project_id, view=view.id, page_size=100)
    assert [t.id for t in listed] == [tasks[2].id]

    out = tmp_path / "slips.json"
    pulled = newsevents("ls", "pull", "--project", "slips", "--output", str(out), env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert f"task {tasks[2].id} ({tasks[2].data['sentence_id']})" in pulled.stderr
    parsed = parse_export(out)
    assert sorted(e.labels for e in parsed.examples) == [(), ("visit",)]
    assert [e["reason"].split(":")[0] for e in parsed.excluded] == ["contradictory choice"]


def test_script_hints_reach_this_server_and_reporting_is_off(labelstudio_server):
    from pathlib import Path

    from conftest import LS_SCRIPT

    data = Path(labelstudio_server["LABEL_STUDIO_DATA"])
    env = {**os.environ, "LABEL_STUDIO_PORT": labelstudio_server["LABEL_STUDIO_PORT"], "LABEL_STUDIO_DATA": str(data)}
    again = subprocess.run([LS_SCRIPT, "start"], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    settings = f"LABEL_STUDIO_PORT={labelstudio_server['LABEL_STUDIO_PORT']} LABEL_STUDIO_DATA={data} "
    assert f'eval "$({settings}scripts/labelstudio.sh env)"' in again.stderr
    assert f"stop with:  {settings}scripts/labelstudio.sh stop" in again.stderr
    assert f"log: {data}/server.log" in again.stderr  # not ../../..
    # Following the printed hint gives this server's token.
    exports = subprocess.run(["bash", "-c", f'cd {ROOT} && {settings}scripts/labelstudio.sh env'],
                             capture_output=True, text=True, check=True).stdout
    assert f"LABEL_STUDIO_API_KEY={labelstudio_server['LABEL_STUDIO_API_KEY']}" in exports

    pid = (data / "server.pid").read_text().strip()
    environ = dict(v.split("=", 1) for v in Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0") if "=" in v)
    assert environ["SENTRY_DSN"] == environ["FRONTEND_SENTRY_DSN"] == "" and environ["COLLECT_ANALYTICS"] == "false"
    # (the pages' own settings are checked in the browser: tests/test_labelstudio_browser.py)
