"""The ``newsevents`` command: parses arguments and calls one function per subcommand.

Defaults come from ``paths`` (folders and files) and ``params.yaml`` (the recipe); ``dvc.yaml``
passes the same paths explicitly. Library modules are imported inside each handler, so
``newsevents --help`` starts fast and each stage loads only what it uses.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from pathlib import Path

from newsevents import paths as P

logger = logging.getLogger("newsevents")

DEFAULT_PROJECT = "seeds"
#: What `serve`'s training job runs after pulling the project's annotations.
DEFAULT_TRAIN_COMMAND = "dvc repro"


def load_params(path: Path):  # noqa: ANN201 (params.Params, imported lazily: YAML only for the stages)
    from newsevents.params import load_params as load

    return load(path)


def _project(args: argparse.Namespace):  # noqa: ANN202 (annotate.Project, imported lazily)
    from newsevents.annotate import Project

    return Project(args.project, args.config, args.guidelines)


def _ls_push(args: argparse.Namespace) -> None:
    from newsevents import annotate

    prm = load_params(args.params)
    annotate.push_round(_project(args), args.inputs, args.source, prm.annotate.context_sentences,
                        predictions=args.predictions, model_dir=args.model, select=args.select,
                        limit=args.limit, seed=prm.base.seed, random_share=args.random_share,
                        blind_share=args.blind_share)


def _ls_import(args: argparse.Namespace) -> None:
    from newsevents import annotate

    annotate.push_labelled(_project(args), args.file, args.source)


def _ls_answer(args: argparse.Namespace) -> None:
    from newsevents import annotate

    annotate.submit_answers(args.project, args.file, args.source, ground_truth=args.ground_truth)


def _ls_pull(args: argparse.Namespace) -> None:
    from newsevents import annotate

    annotate.pull(args.project, args.output or P.ANNOTATIONS_DIR / f"{args.project}.json")


def _prepare(args: argparse.Namespace) -> None:
    from newsevents import dataset

    dataset.main(args.labels, args.stories, args.examples, args.data_card, load_params(args.params))


def _train(args: argparse.Namespace) -> None:
    from newsevents import train

    train.main(args.examples, args.data_card, args.model, args.cv_predictions, args.heldout_predictions, args.live,
               load_params(args.params))


def _evaluate(args: argparse.Namespace) -> None:
    from newsevents import evaluate

    evaluate.main(args.examples, args.cv_predictions, args.heldout_predictions, args.families, args.report,
                  args.metrics, args.errors, args.plots, load_params(args.params))


def _learning_curve(args: argparse.Namespace) -> None:
    from newsevents import learning_curve

    learning_curve.main(args.examples, args.cv_predictions, args.output, args.plot, load_params(args.params))


def _dashboard(args: argparse.Namespace) -> None:
    from newsevents import dashboard

    dashboard.main(args.report, args.errors, args.data_card, args.learning_curve, args.output)


def _export_onnx(args: argparse.Namespace) -> None:
    from newsevents import onnx_export

    onnx_export.main(args.model, args.examples, args.output, args.agreement, load_params(args.params))


def _review(args: argparse.Namespace) -> None:
    from newsevents import review

    review.main(args.predictions, args.output)


def _ls_review(args: argparse.Namespace) -> None:
    from newsevents import annotate

    annotate.push_review(args.issues, {"seed": args.seed_project, "newswire": args.newswire_project,
                                       "pool": args.pool_project})


def _ls_connect(args: argparse.Namespace) -> None:
    from newsevents import annotate

    annotate.connect_backend(args.project, args.url)


def _serve(args: argparse.Namespace) -> None:
    from newsevents import serve

    _quiet_libraries()
    serve.main(args.model, args.backend, args.host, args.port, None if args.no_training else args.train_command,
               args.training_log, Path.cwd())


def _quiet_libraries() -> None:
    """No library progress bars (loading weights) on stderr: the run's own lines stay readable."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def _predict(args: argparse.Namespace) -> None:
    from newsevents import predict
    from newsevents.classifier import resolve

    if resolve(args.model, args.backend)[1] == "torch":  # the ONNX path never imports transformers
        _quiet_libraries()
    counts = predict.run(
        args.inputs, args.model, args.output, fmt=args.format, unit=args.unit, batch_size=args.batch_size,
        threshold_scale=args.threshold_scale, backend=args.backend, summary=args.summary,
        resume=args.resume, quiet=args.quiet, threads=args.threads,
    )
    print(predict.summary_line(counts), file=sys.stderr)


def _predict_dataset(args: argparse.Namespace) -> None:
    from newsevents import ray_predict
    from newsevents.predict import summary_line

    _quiet_libraries()
    job = ray_predict.Job(model_dir=str(args.model), output=args.output, fmt=args.format, unit=args.unit,
                          batch_size=args.batch_size, threshold_scale=args.threshold_scale, threads=args.threads)
    counts = ray_predict.run(args.inputs, job, actors=args.actors, address=args.address, quiet=args.quiet,
                             num_cpus=args.num_cpus)
    print(summary_line(counts, resumed="input files resumed"), file=sys.stderr)


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (batch sizes, threads)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0 (threshold scales)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def _path(parser: argparse.ArgumentParser, flag: str, default: Path, what: str) -> None:
    parser.add_argument(flag, type=Path, default=default, help=f"{what} (%(default)s)")


DESCRIPTION = """\
Find the events news sentences report: visit, treaty, strike, sentence (a court's), sanction.
Splits articles into sentences, gives every sentence a score per event type and the types above
their thresholds, and runs the annotation and training loop behind the model."""

EPILOG = """\
main commands:
  predict INPUT...   events of every sentence of .txt files, folders or JSONL (the ONNX model when exported)
  predict-dataset    the same on Ray Data: many files, many machines, resumable
  ls push / pull     send sentences to Label Studio for annotation, export the annotations
  serve              the model as a Label Studio ML backend (pre-labels, training from the UI)
  prepare, train, evaluate, export-onnx, dashboard, review, learning-curve
                     the pipeline's stages (run them all with `dvc repro`)

`newsevents COMMAND --help` describes each command; from Python: `from newsevents import EventClassifier`."""


def version_text(model_dir: Path = P.MODEL_DIR) -> str:
    """The package version and the default model's (from its folder's newsevents.json)."""
    from newsevents import __version__
    from newsevents.model import peek_version

    try:
        model = peek_version(model_dir)
    except FileNotFoundError:
        model = "not trained"
    except (OSError, ValueError) as err:
        model = f"unreadable ({type(err).__name__})"
    return f"newsevents {__version__}\nmodel {model_dir}: {model}"


class VersionAction(argparse.Action):
    """``--version``: computed only when asked, so it reads the model folder of the current directory."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the package version and the default model's version, then exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(version_text())
        parser.exit()


def _row_options(parser: argparse.ArgumentParser) -> None:
    """The options that decide the rows, shared by ``predict`` and ``predict-dataset``."""
    parser.add_argument("--unit", choices=["article", "sentence"], default="article",
                        help="article: split each text into sentences; sentence: each text is one sentence")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="sentences per forward pass (%(default)s)")
    parser.add_argument("--threshold-scale", type=positive_float, default=1.0,
                        help="multiply every type's threshold (<1: more recall, >1: more precision)")


class Parser(argparse.ArgumentParser):
    """Usage errors as one line (what is wrong, and where to read more), exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="newsevents", description=DESCRIPTION, epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=VersionAction)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--params", type=Path, default=P.PARAMS_FILE, help="params file (%(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("ls", help="Label Studio: push tasks, pull annotations")
    ls_sub = ls.add_subparsers(dest="ls_command", required=True)
    push = ls_sub.add_parser("push", help="import article sentences as tasks (no duplicates)")
    push.add_argument("inputs", nargs="*", type=Path, default=[P.SEEDS_DIR],
                      help=".txt files, folders of them, or JSONL articles (default: seeds/); "
                           "with --source newswire: JSONL sentence rows")
    push.add_argument("--source", choices=["seed", "newswire", "pool", "heldout"], default="seed",
                      help="seed: articles, split into sentences; newswire: one task per JSONL row "
                           "({id, text, labels, source}), its labels attached as 'first-pass' predictions; "
                           "pool: unlabelled JSONL rows ({id, text, page, doc}) for the model to select; "
                           "heldout: one task per JSONL row ({id, text, page}), annotated blind")
    push.add_argument("--predictions", action="store_true",
                      help="attach the model's output to each task as a pre-annotation")
    push.add_argument("--select", choices=["all", "uncertain", "random"], default="all",
                      help="uncertain: only the sentences the model is least sure about, most uncertain first")
    push.add_argument("--limit", type=int, help="import at most N sentences (with --select)")
    push.add_argument("--random-share", type=float, default=0.0,
                      help="with --select uncertain: this share of --limit is a random sample of the rest")
    push.add_argument("--blind-share", type=float, default=0.0,
                      help="this share of the pushed tasks gets no pre-annotation, for two blind annotators")
    _path(push, "--model", P.MODEL_DIR, "model folder")
    imp = ls_sub.add_parser("import", help="import sentences that already carry labels, as annotated tasks")
    imp.add_argument("file", type=Path, help='JSONL: {"id", "text", "labels", optional "note", "trap", "page"}')
    imp.add_argument("--source", required=True, choices=["authored"])
    for p, required in ((push, False), (imp, True)):
        p.add_argument("--project", required=required, default=None if required else DEFAULT_PROJECT,
                       help="project title" + ("" if required else " (%(default)s)"))
        _path(p, "--config", P.LABEL_CONFIG, "labeling interface")
        _path(p, "--guidelines", P.GUIDELINES, "annotator instructions")
    push.set_defaults(func=_ls_push)
    imp.set_defaults(func=_ls_import)
    ans = ls_sub.add_parser("answer", help="submit an annotator's answers file as their annotations")
    ans.add_argument("file", type=Path, help='JSONL: {"id", "labels", optional "rule"} per sentence row')
    ans.add_argument("--project", required=True, help="project title")
    ans.add_argument("--source", required=True, choices=["heldout", "newswire", "pool", "authored"],
                     help="the source the rows were pushed as (their ids are <source>:<id>)")
    ans.add_argument("--ground-truth", action="store_true",
                     help="adjudications: settle each task, left out of annotator agreement")
    ans.set_defaults(func=_ls_answer)
    pull = ls_sub.add_parser("pull", help="export annotations to labels/annotations/<project>.json")
    pull.add_argument("--project", default=DEFAULT_PROJECT, help="project title (%(default)s)")
    pull.add_argument("--output", type=Path, help="export file (default: labels/annotations/<project>.json)")
    pull.set_defaults(func=_ls_pull)
    con = ls_sub.add_parser("connect", help="register `newsevents serve` as the project's ML backend (pre-labels)")
    con.add_argument("--project", default=DEFAULT_PROJECT, help="project title (%(default)s)")
    con.add_argument("--url", default="http://127.0.0.1:9090", help="where `newsevents serve` listens (%(default)s)")
    con.set_defaults(func=_ls_connect)
    lr = ls_sub.add_parser("review", help="mark the review stage's doubtful labels in Label Studio (a review tab)")
    _path(lr, "--issues", P.LABEL_ISSUES, "the review stage's ranked issues")
    lr.add_argument("--seed-project", default=DEFAULT_PROJECT)
    lr.add_argument("--newswire-project", default="newswire")
    lr.add_argument("--pool-project", default="pool")
    lr.set_defaults(func=_ls_review)

    prep = sub.add_parser("prepare", help="validate exports and write the examples (with folds) and a data card")
    _path(prep, "--labels", P.LABELS_DIR, "folder of Label Studio exports")
    _path(prep, "--stories", P.STORIES, "articles of one story, kept in one fold")
    _path(prep, "--examples", P.EXAMPLES, "examples output")
    _path(prep, "--data-card", P.DATA_CARD, "data card output")
    prep.set_defaults(func=_prepare)

    tr = sub.add_parser("train", help="cross-validate, tune thresholds, train and save the classifier")
    _path(tr, "--examples", P.EXAMPLES, "prepare's examples")
    _path(tr, "--data-card", P.DATA_CARD, "prepare's data card")
    _path(tr, "--model", P.MODEL_DIR, "model folder output")
    _path(tr, "--cv-predictions", P.CV_PREDICTIONS, "out-of-fold records output")
    _path(tr, "--heldout-predictions", P.HELDOUT_PREDICTIONS, "the final model's held-out records output")
    _path(tr, "--live", P.LIVE_DIR, "DVCLive log folder")
    tr.set_defaults(func=_train)

    ev = sub.add_parser("evaluate", help="metrics vs baselines on the same folds, and plots")
    _path(ev, "--examples", P.EXAMPLES, "prepare's examples")
    _path(ev, "--cv-predictions", P.CV_PREDICTIONS, "train's out-of-fold records")
    _path(ev, "--heldout-predictions", P.HELDOUT_PREDICTIONS, "train's held-out records")
    _path(ev, "--families", P.HELDOUT_FAMILIES, "collection family of each held-out sentence (hard negatives)")
    _path(ev, "--report", P.REPORT, "full report output")
    _path(ev, "--metrics", P.METRICS, "DVC metrics output")
    _path(ev, "--errors", P.ERRORS, "model errors output")
    _path(ev, "--plots", P.PLOTS_DIR, "DVC plots folder")
    ev.set_defaults(func=_evaluate)

    lc = sub.add_parser("learning-curve", help="out-of-fold macro-F1 when training on shares of the real sentences")
    _path(lc, "--examples", P.EXAMPLES, "prepare's examples")
    _path(lc, "--cv-predictions", P.CV_PREDICTIONS, "train's out-of-fold records (the 100%% point)")
    _path(lc, "--output", P.LEARNING_CURVE, "curve output")
    _path(lc, "--plot", P.LEARNING_CURVE_PLOT, "DVC plot output")
    lc.set_defaults(func=_learning_curve)

    da = sub.add_parser("dashboard", help="render the evaluation dashboard (one self-contained HTML page)")
    _path(da, "--report", P.REPORT, "evaluate's report")
    _path(da, "--errors", P.ERRORS, "evaluate's errors")
    _path(da, "--data-card", P.DATA_CARD, "prepare's data card")
    _path(da, "--learning-curve", P.LEARNING_CURVE, "the learning-curve stage's points")
    _path(da, "--output", P.DASHBOARD, "page output")
    da.set_defaults(func=_dashboard)

    ex = sub.add_parser("export-onnx", help="export the classifier to int8 ONNX and check it agrees with torch")
    _path(ex, "--model", P.MODEL_DIR, "model folder")
    _path(ex, "--examples", P.EXAMPLES, "sentences to check agreement on")
    _path(ex, "--output", P.ONNX_DIR, "ONNX model folder output")
    _path(ex, "--agreement", P.ONNX_AGREEMENT, "agreement metric output")
    ex.set_defaults(func=_export_onnx)

    rv = sub.add_parser("review", help="rank the gold labels most likely wrong (cleanlab, out-of-fold)")
    _path(rv, "--predictions", P.CV_PREDICTIONS, "train's out-of-fold records")
    _path(rv, "--output", P.LABEL_ISSUES, "ranked issues output")
    rv.set_defaults(func=_review)

    pr = sub.add_parser("predict", help="events of every sentence of new articles (JSONL or CSV)")
    pr.add_argument("inputs", nargs="+", help=".txt files, folders of them, JSONL files ({id, text}), or - for stdin")
    _path(pr, "--model", P.MODEL_DIR, "model folder")
    pr.add_argument("--output", type=Path, help="output file, written atomically (default: stdout)")
    pr.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    _row_options(pr)
    pr.add_argument("--backend", choices=["auto", "onnx", "torch"], default="auto",
                    help="auto: the ONNX export (models/event-classifier-onnx) when it is of this model, "
                         "else torch (%(default)s)")
    pr.add_argument("--threads", type=positive_int, help="CPU threads (default: the library's choice)")
    pr.add_argument("--summary", type=Path, help="also write one row per article (.csv or .jsonl)")
    pr.add_argument("--resume", action="store_true", help="skip documents already in --output")
    pr.add_argument("--quiet", action="store_true", help="no progress bar")
    pr.set_defaults(func=_predict)
    sv = sub.add_parser("serve", help="serve the model as a Label Studio ML backend (predictions, training)")
    _path(sv, "--model", P.MODEL_DIR, "model folder (reloaded after each training job)")
    sv.add_argument("--backend", choices=["auto", "onnx", "torch"], default="auto",
                    help="auto: the ONNX export beside the model when it is of that model, else torch (as predict)")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s: this machine only)")
    sv.add_argument("--port", type=positive_int, default=9090, help="(%(default)s)")
    sv.add_argument("--train-command", default=DEFAULT_TRAIN_COMMAND,
                    help="what a training job runs after `ls pull` of the project (%(default)s)")
    sv.add_argument("--no-training", action="store_true", help="ignore Label Studio's training triggers")
    sv.add_argument("--training-log", type=Path, default=P.TRAINING_LOG, help="training jobs' log (%(default)s)")
    sv.set_defaults(func=_serve)

    pd = sub.add_parser("predict-dataset", help="predict on Ray Data: many files, many machines, resumable")
    pd.add_argument("inputs", nargs="+",
                    help=".txt, .jsonl ({id, text}) or .parquet (id, text columns) files, folders or globs; "
                         "local paths or URIs (s3://...)")
    _path(pd, "--model", P.ONNX_DIR, "ONNX model folder, reachable from every worker")
    pd.add_argument("--output", required=True,
                    help="output folder (local or URI): one shard per input file; a rerun skips finished ones")
    pd.add_argument("--format", choices=["parquet", "jsonl"], default="parquet")
    _row_options(pd)
    pd.add_argument("--actors", type=positive_int, default=1, help="scoring actors, one model each (%(default)s)")
    pd.add_argument("--threads", type=positive_int, default=1,
                    help="ONNX Runtime threads (and CPUs reserved) per actor (%(default)s)")
    pd.add_argument("--address", default=None,
                    help="Ray cluster to join (default: $RAY_ADDRESS, else start a local one)")
    pd.add_argument("--num-cpus", type=positive_int,
                    help="CPUs the local cluster offers (default: the machine's cores; ignored with a cluster)")
    pd.add_argument("--quiet", action="store_true", help="no progress bars")
    pd.set_defaults(func=_predict_dataset)
    return parser


#: The extra (pyproject.toml) that installs each optional library: the core install predicts with ONNX only.
EXTRA_OF = {"torch": "torch", "transformers": "torch", "label_studio_sdk": "labelstudio", "httpx": "labelstudio",
            "yaml": "train", "jinja2": "train", "markupsafe": "train"}


def missing_extra(err: ModuleNotFoundError) -> str:
    """One line for a command whose optional libraries are not installed."""
    top = (err.name or "").split(".")[0]
    return (f"{top} is not installed; this command needs `pip install 'newsevents[{EXTRA_OF.get(top, 'train')}]'` "
            f"(the core install predicts with the ONNX model only)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Our own messages at INFO; libraries (HTTP clients, the ONNX quantiser) only when they warn.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("newsevents").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    from newsevents.labelstudio.client import LabelStudioError

    try:
        args.func(args)
    except KeyboardInterrupt:
        kept = getattr(args, "output", None)
        where = f"; the finished documents are kept in {kept}.partial: rerun with --resume" \
            if kept is not None and args.command == "predict" else ""
        if args.command == "predict-dataset":
            where = f"; the finished shards are kept in {kept}: rerun the same command to continue"
        print(f"newsevents: interrupted{where}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head -1`): stop quietly, like any Unix tool
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (LabelStudioError, ValueError, OSError) as err:  # every error of ours is one of these
        print(f"newsevents: error: {err}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as err:
        if err.name is None or err.name.split(".")[0] == "newsevents":
            raise
        print(f"newsevents: error: {missing_extra(err)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
