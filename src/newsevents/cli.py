"""The ``newsevents`` command. Thin: each subcommand parses arguments and calls one function."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from newsevents import params as P

logger = logging.getLogger("newsevents")

DEFAULT_PROJECT = "seeds"


def _ls_push(args: argparse.Namespace) -> None:
    from newsevents import corpus, labelstudio

    prm = P.load_params(args.params)
    first_pass: dict[str, dict] = {}
    if args.source == "seed":
        tasks = []
        for article in corpus.iter_articles(args.inputs):
            sentences = corpus.segment(article)
            tasks += labelstudio.sentence_tasks(article, sentences, prm.prepare.context_sentences)
    else:  # sentence rows that carry first-pass labels: those become predictions to review
        rows = [row for path in args.inputs for row in labelstudio.read_labelled_rows(path)]
        labelled = labelstudio.labelled_tasks(rows, args.source, as_prediction=labelstudio.FIRST_PASS)
        tasks = [t["data"] for t in labelled]
        first_pass = {t["data"]["sentence_id"]: t["predictions"][0] for t in labelled}
    client = labelstudio.connect()  # fail fast, before scoring
    predictions: dict[str, dict] = {}
    if args.predictions or args.select != "all":
        from newsevents.predict import apply_thresholds, load_backend, uncertainty

        backend = load_backend(args.model)
        scores = backend.scores([t["text"] for t in tasks])
        margins = uncertainty(scores, backend.thresholds)
        labels = apply_thresholds(scores, backend.thresholds)
        keep = labelstudio.select_tasks(tasks, margins, args.select, args.limit, prm.base.seed)
        for rank, i in enumerate(keep, 1):
            tasks[i]["uncertainty"] = round(float(margins[i]), 4)
            if args.select != "all":
                tasks[i]["selection_rank"] = rank
            predictions[tasks[i]["sentence_id"]] = labelstudio.prediction(labels[i], margins[i], backend.version)
        tasks = [tasks[i] for i in keep]
        logger.info("scored %d sentences with model %s; importing %d (%s)", len(scores), backend.version,
                    len(tasks), args.select)
    config = args.config.read_text(encoding="utf-8")
    project = labelstudio.ensure_project(client, args.project, config, _instructions(args.guidelines))
    to_import = []
    for t in tasks:
        preds = [p[t["sentence_id"]] for p in (first_pass, predictions) if t["sentence_id"] in p]
        to_import.append({"data": t, "predictions": preds} if preds else t)
    added, present = labelstudio.push(client, project, to_import)
    logger.info("project %r: imported %d new tasks, %d already there", args.project, added, present)
    if args.predictions and present:
        n = labelstudio.add_predictions(client, project, predictions)
        logger.info("added predictions of model %s to %d existing tasks", backend.version, n)


def _ls_import(args: argparse.Namespace) -> None:
    from newsevents import labelstudio

    rows = labelstudio.read_labelled_rows(args.file)
    client = labelstudio.connect()
    config = args.config.read_text(encoding="utf-8")
    project = labelstudio.ensure_project(client, args.project, config, _instructions(args.guidelines))
    added, present = labelstudio.push(client, project, labelstudio.labelled_tasks(rows, args.source))
    logger.info("project %r: imported %d labelled tasks, %d already there", args.project, added, present)


def _instructions(guidelines: Path) -> str:
    """The guidelines as Label Studio's annotator instructions (shown as preformatted text).

    A bare <pre>: the server drops style attributes, and the text must come back as sent so a
    second push sees no change."""
    if not guidelines.exists():
        return ""
    import html

    return f"<pre>{html.escape(guidelines.read_text(encoding='utf-8'))}</pre>"


def _ls_pull(args: argparse.Namespace) -> None:
    from newsevents import labelstudio

    client = labelstudio.connect()
    out = args.output or P.ANNOTATIONS_DIR / f"{args.project}.json"
    projects = [p for p in client.projects.list(title=args.project) if p.title == args.project]
    if not projects:
        raise labelstudio.LabelStudioError(f"no project called {args.project!r} on this server")
    n = labelstudio.pull(client, projects[0].id, out)
    logger.info("wrote %d tasks of project %r to %s", n, args.project, out)


def _prepare(args: argparse.Namespace) -> None:
    from newsevents import dataset

    prm = P.load_params(args.params)
    exports = dataset.find_exports(args.labels)
    stories = dataset.read_stories(Path(prm.prepare.stories))
    rows, card = dataset.prepare(exports, prm.prepare.n_folds, stories)
    dataset.write_training(args.output, rows, card)
    total = card["total"]
    logger.info(
        "prepare: %d examples from %d export(s) (%s), %d excluded → %s",
        total["sentences"], len(exports),
        ", ".join(f"{s}: {c['sentences']}" for s, c in card["per_source"].items()),
        card["excluded"]["count"], args.output,
    )


def _train(args: argparse.Namespace) -> None:
    from newsevents import train

    prm = P.load_params(args.params)
    train.train_stage(args.data, args.output, prm)


def _evaluate(args: argparse.Namespace) -> None:
    from newsevents import evaluate

    prm = P.load_params(args.params)
    evaluate.evaluate_stage(args.data, args.models, args.output, prm)


def _predict(args: argparse.Namespace) -> None:
    from newsevents import batch

    counts = batch.run(
        args.inputs, args.model, args.output, fmt=args.format, unit=args.unit, batch_size=args.batch_size,
        threshold_scale=args.threshold_scale, backend=args.backend, summary=args.summary,
        resume=args.resume, quiet=args.quiet, threads=args.threads,
    )
    problems = ", ".join(f"{n} {why}" for why, n in counts["problems"].items())
    print(
        f"newsevents: {counts['documents']} documents, {counts['sentences']} sentences in "
        f"{counts['seconds']}s" + (f"; {counts['resumed']} resumed" if counts["resumed"] else "")
        + (f"; skipped {counts['skipped']} ({problems})" if counts["skipped"] else ""),
        file=sys.stderr,
    )


def _export_onnx(args: argparse.Namespace) -> None:
    from newsevents import onnx_export

    path = onnx_export.export(args.model, args.output, quantize=not args.no_quantize)
    logger.info("wrote %s", path)


def _review(args: argparse.Namespace) -> None:
    from newsevents import atomic, review

    records = [json.loads(line) for line in args.predictions.read_text(encoding="utf-8").splitlines() if line.strip()]
    issues = review.find_label_issues(records)
    atomic.write_jsonl(args.output, issues)
    logger.info("%d of %d gold labels look doubtful → %s", len(issues), len(records), args.output)
    for issue in issues[:10]:
        logger.info("  #%d %s %s: %s", issue["rank"], issue["id"], issue["gold"] or "no event", issue["reason"])
    if args.push:
        from newsevents import labelstudio

        client = labelstudio.connect()
        for source, title in (("seed", args.seed_project), ("newswire", args.newswire_project)):
            found = [p for p in client.projects.list(title=title) if p.title == title]
            if found:
                n = labelstudio.mark_for_review(client, found[0].id, [i for i in issues if i["source"] == source])
                logger.info("project %r: %d tasks in the %r tab", title, n, labelstudio.REVIEW_VIEW)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsevents", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--params", type=Path, default=P.PARAMS_FILE, help="params file (%(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("ls", help="Label Studio: push tasks, pull annotations")
    ls_sub = ls.add_subparsers(dest="ls_command", required=True)
    push = ls_sub.add_parser("push", help="import article sentences as tasks (no duplicates)")
    push.add_argument("inputs", nargs="*", type=Path, default=[P.SEEDS_DIR],
                      help=".txt files, folders of them, or JSONL articles (default: seeds/); "
                           "with --source newswire: JSONL sentence rows")
    push.add_argument("--source", choices=["seed", "newswire"], default="seed",
                      help="seed: articles, split into sentences; newswire: one task per JSONL row "
                           "({id, text, labels, source}), its labels attached as 'first-pass' predictions")
    push.add_argument("--project", default=DEFAULT_PROJECT, help="project title (%(default)s)")
    push.add_argument("--config", type=Path, default=P.LABEL_CONFIG, help="labeling interface")
    push.add_argument("--guidelines", type=Path, default=P.LABELS_DIR / "guidelines.md")
    push.add_argument("--predictions", action="store_true",
                      help="attach the model's output to each task as a pre-annotation")
    push.add_argument("--select", choices=["all", "uncertain", "random"], default="all",
                      help="uncertain: only the sentences the model is least sure about, most uncertain first")
    push.add_argument("--limit", type=int, help="import at most N sentences (with --select)")
    push.add_argument("--model", type=Path, default=P.MODELS_DIR / "event-classifier", help="model folder")
    push.set_defaults(func=_ls_push)
    imp = ls_sub.add_parser("import", help="import sentences that already carry labels, as annotated tasks")
    imp.add_argument("file", type=Path, help='JSONL: {"id", "text", "labels", optional "note", "trap", "page"}')
    imp.add_argument("--source", required=True, choices=["authored"])
    imp.add_argument("--project", required=True, help="project title")
    imp.add_argument("--config", type=Path, default=P.LABEL_CONFIG, help="labeling interface")
    imp.add_argument("--guidelines", type=Path, default=P.LABELS_DIR / "guidelines.md")
    imp.set_defaults(func=_ls_import)
    pull = ls_sub.add_parser("pull", help="export annotations to labels/annotations/<project>.json")
    pull.add_argument("--project", default=DEFAULT_PROJECT, help="project title (%(default)s)")
    pull.add_argument("--output", type=Path, help="export file (default: labels/annotations/<project>.json)")
    pull.set_defaults(func=_ls_pull)

    prep = sub.add_parser("prepare", help="validate exports and write training/ (examples, folds, data card)")
    prep.add_argument("--labels", type=Path, default=P.LABELS_DIR, help="folder of exports (%(default)s)")
    prep.add_argument("--output", type=Path, default=P.TRAINING_DIR, help="output folder (%(default)s)")
    prep.set_defaults(func=_prepare)

    tr = sub.add_parser("train", help="cross-validate, tune thresholds, train and save the classifier")
    tr.add_argument("--data", type=Path, default=P.TRAINING_DIR, help="prepare output (%(default)s)")
    tr.add_argument("--output", type=Path, default=P.MODELS_DIR, help="models folder (%(default)s)")
    tr.set_defaults(func=_train)

    ev = sub.add_parser("evaluate", help="metrics vs baselines on the same folds, plots, dashboard")
    ev.add_argument("--data", type=Path, default=P.TRAINING_DIR, help="prepare output (%(default)s)")
    ev.add_argument("--models", type=Path, default=P.MODELS_DIR, help="train output (%(default)s)")
    ev.add_argument("--output", type=Path, default=P.EVAL_DIR, help="evaluation folder (%(default)s)")
    ev.set_defaults(func=_evaluate)

    pr = sub.add_parser("predict", help="events of every sentence of new articles (JSONL or CSV)")
    pr.add_argument("inputs", nargs="+", help=".txt files, folders of them, JSONL files ({id, text}), or - for stdin")
    pr.add_argument("--model", type=Path, default=P.MODELS_DIR / "event-classifier", help="model folder (%(default)s)")
    pr.add_argument("--output", type=Path, help="output file, written atomically (default: stdout)")
    pr.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    pr.add_argument("--unit", choices=["article", "sentence"], default="article",
                    help="article: split each text into sentences; sentence: each text is one sentence")
    pr.add_argument("--batch-size", type=int, default=32, help="sentences per forward pass (%(default)s)")
    pr.add_argument("--threshold-scale", type=float, default=1.0,
                    help="multiply every type's threshold (<1: more recall, >1: more precision)")
    pr.add_argument("--backend", choices=["torch", "onnx"], default="torch",
                    help="onnx needs `newsevents export-onnx` first and a model folder holding model.onnx")
    pr.add_argument("--threads", type=int, help="CPU threads (default: the library's choice)")
    pr.add_argument("--summary", type=Path, help="also write one row per article (.csv or .jsonl)")
    pr.add_argument("--resume", action="store_true", help="skip documents already in --output")
    pr.add_argument("--quiet", action="store_true", help="no progress bar")
    pr.set_defaults(func=_predict)

    ex = sub.add_parser("export-onnx", help="export the classifier to ONNX (int8-quantised by default)")
    ex.add_argument("--model", type=Path, default=P.MODELS_DIR / "event-classifier")
    ex.add_argument("--output", type=Path, default=P.MODELS_DIR / "event-classifier-onnx")
    ex.add_argument("--no-quantize", action="store_true", help="keep fp32 weights")
    ex.set_defaults(func=_export_onnx)

    rv = sub.add_parser("review", help="rank the gold labels most likely wrong (cleanlab, out-of-fold)")
    rv.add_argument("--predictions", type=Path, default=P.MODELS_DIR / "cv_predictions.jsonl")
    rv.add_argument("--output", type=Path, default=P.EVAL_DIR / "label_issues.jsonl")
    rv.add_argument("--push", action="store_true", help="send them to Label Studio as a review queue")
    rv.add_argument("--seed-project", default=DEFAULT_PROJECT)
    rv.add_argument("--newswire-project", default="newswire")
    rv.set_defaults(func=_review)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Our own messages at INFO; libraries (HTTP clients, the ONNX quantiser) only when they warn.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("newsevents").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    from newsevents.corpus import CorpusError
    from newsevents.labelstudio import ExportError, LabelStudioError
    from newsevents.model import ModelError
    from newsevents.params import ParamsError

    try:
        args.func(args)
    except (LabelStudioError, ExportError, CorpusError, ModelError, ParamsError, ValueError, OSError) as err:
        print(f"newsevents: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
