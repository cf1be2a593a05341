"""The dashboard stage: render the evaluation dashboard, one self-contained HTML page, from the eval files.

The page must open from disk on a machine with no network (a reviewer's laptop, a CI artifact), so
the template inlines the package's CSS and JavaScript and draws the charts as SVG from the geometry
in ``newsevents.charts``. This module only turns ``report.json``, ``errors.jsonl`` and the data card
into plain rows of text for the template; it computes no metric of its own, and a missing piece
shows as "n/a" instead of failing the stage.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape
from markupsafe import Markup

from newsevents import atomic, charts
from newsevents.charts import NA, fmt, is_num
from newsevents.jsonl import read_jsonl
from newsevents.schema import SOURCES

logger = logging.getLogger(__name__)

TEMPLATE = "dashboard.html.j2"
Systems = list[tuple[str, dict[str, Any]]]  # (report key, system), the model first


# ---------------------------------------------------------------- reading the report's loose values

def dig(value: Any, *path: str) -> Any:
    """``value[path[0]][path[1]]...``, or None where any step is missing or not a dict."""
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a dict, else an empty one: a malformed piece renders as missing."""
    return value if isinstance(value, dict) else {}


def shown(value: Any) -> Any:
    """A count or name as given, "n/a" when absent."""
    return NA if value is None else value


def ordered_systems(report: dict[str, Any]) -> Systems:
    """The model first, then the baselines in report order."""
    pairs = [(k, as_dict(s)) for k, s in as_dict(report.get("systems")).items()]
    return sorted(pairs, key=lambda kv: kv[0] != "model")


def label_of(key: str, system: dict[str, Any]) -> str:
    return str(system.get("label") or key)


def first_known(systems: Systems, *path: str) -> Any:
    """The first system's value at ``path`` that is present (support and fold sizes are shared)."""
    return next((v for _, s in systems if (v := dig(s, *path)) is not None), None)


def source_order(source: str) -> tuple[int, str]:
    """Known sources in ``schema.SOURCES`` order, then any new one (say "heldout") by name."""
    return (SOURCES.index(source), "") if source in SOURCES else (len(SOURCES), source)


def fold_order(fold: str) -> tuple[int, str]:
    """Numbered folds by number, then named ones ("train_only") by name."""
    return (int(fold), "") if str(fold).isdecimal() else (1 << 30, str(fold))


def spread(system: dict[str, Any]) -> str:
    mean, std = dig(system, "fold_spread", "macro_f1_mean"), dig(system, "fold_spread", "macro_f1_std")
    return NA if mean is None else f"{fmt(mean)} ± {fmt(std)}"


# ---------------------------------------------------------------- what each section shows
# Plain text and chart records for the template: every rule (decimals, "n/a", order, the best row)
# is decided here, so the template only lays things out.

@dataclass(frozen=True)
class HeadlineRow:
    label: str
    macro_f1: str
    best: bool  # the best macro-F1: highlighted row, bold figure
    micro_f1: str
    precision: str
    recall: str
    spread: str
    per_source: list[str]


@dataclass(frozen=True)
class Headline:
    n_sentences: Any
    n_folds: Any
    sources: list[str]
    rows: list[HeadlineRow]


@dataclass(frozen=True)
class PerType:
    legend: list[charts.LegendEntry]
    chart: charts.BarChart
    source_head: list[str]
    source_rows: list[list[str]]


@dataclass(frozen=True)
class Folds:
    chart: charts.StripChart
    head: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Agreement:
    tasks: Any
    annotators: Any
    head: list[str]
    alphas: list[list[str]]
    disagreements: list[list[str]]


@dataclass(frozen=True)
class FirstPass:
    head: list[str]
    rows: list[list[str]]
    changes: list[list[Any]]  # sentence, first-pass labels, reviewed labels, reason


@dataclass(frozen=True)
class ModelChanges:
    head: list[str]
    rows: list[list[Any]]  # model version, answers, left unchanged, then per type "✓accepted +added −removed"


@dataclass(frozen=True)
class DataCard:
    source_head: list[str]
    type_rows: list[list[str]]
    fold_head: list[str]
    fold_rows: list[list[str]]
    excluded_count: Any
    reasons: list[list[str]]
    task_head: list[str]
    tasks: list[list[str]]
    disagreements: int
    agreement: Agreement | None
    first_pass: FirstPass | None
    model_changes: ModelChanges | None


@dataclass(frozen=True)
class ScoreLine:
    text: str
    high: bool  # at or above the type's threshold


@dataclass(frozen=True)
class ErrorRow:
    text: Any
    id: Any
    gold: Any
    predicted: Any
    false_positives: Any
    false_negatives: Any
    scores: list[ScoreLine]
    source: Any
    fold: Any


def headline_view(report: dict[str, Any], systems: Systems) -> Headline:
    sources = sorted({src for _, s in systems for src in as_dict(s.get("per_source"))}, key=source_order)
    f1s = [dig(s, "macro", "f1") for _, s in systems]
    best = max((f for f in f1s if is_num(f)), default=None)
    rows = [HeadlineRow(label_of(key, s), fmt(f1), is_num(f1) and f1 == best, fmt(dig(s, "micro", "f1")),
                        fmt(dig(s, "macro", "precision")), fmt(dig(s, "macro", "recall")), spread(s),
                        [fmt(dig(s, "per_source", src, "macro", "f1")) for src in sources])
            for (key, s), f1 in zip(systems, f1s, strict=True)]
    return Headline(report.get("n_sentences", NA), report.get("n_folds", NA), sources, rows)


def per_type_view(report: dict[str, Any], systems: Systems) -> PerType:
    """The F1 bars, and every system on each real source and pooled."""
    types = list(report.get("event_types") or [])
    f1s = [(label_of(k, s), {t: dig(s, "per_type", t, "f1") for t in types}) for k, s in systems]
    support = {t: first_known(systems, "per_type", t, "support") for t in types}
    rows = []
    for key, s in systems:
        per_source = sorted(as_dict(s.get("per_source")).items(), key=lambda kv: source_order(kv[0]))
        for name, m in [("pooled", s), *per_source]:
            rows.append([label_of(key, s), name, fmt(dig(m, "n"), 0), fmt(dig(m, "macro", "f1")),
                         fmt(dig(m, "micro", "f1")), *(fmt(dig(m, "per_type", t, "f1")) for t in types)])
    legend = [charts.LegendEntry(label, charts.color(i)) for i, (label, _) in enumerate(f1s)]
    return PerType(legend, charts.per_type_bars(types, f1s, support),
                   ["System", "Sentences", "n", "macro-F1", "micro-F1", *types], rows)


@dataclass(frozen=True)
class HeldOut:
    n: Any
    hard_negatives: Any
    head: list[str]
    rows: list[list[str]]


def heldout_view(report: dict[str, Any], systems: Systems) -> HeldOut | None:
    """Every system on the held-out source: macro/micro-F1, P/R/F1 per type, hard negatives firing."""
    if not any(isinstance(s.get("heldout"), dict) for _, s in systems):
        return None
    types = list(report.get("event_types") or [])
    rows = []
    for key, s in systems:
        h = as_dict(s.get("heldout"))
        rate = dig(h, "hard_negatives", "false_event_rate")
        fired = dig(h, "hard_negatives", "false_event")
        rows.append([label_of(key, s), fmt(dig(h, "macro", "f1")), fmt(dig(h, "micro", "f1")),
                     *(f"{fmt(dig(h, 'per_type', t, 'precision'), 2)} / {fmt(dig(h, 'per_type', t, 'recall'), 2)} / "
                       f"{fmt(dig(h, 'per_type', t, 'f1'), 2)}" for t in types),
                     NA if not is_num(rate) else f"{100 * rate:.1f}% ({fired})"])
    return HeldOut(first_known(systems, "heldout", "n") or NA, first_known(systems, "heldout", "hard_negatives", "n") or NA,
                   ["System", "macro-F1", "micro-F1", *(f"{t} P / R / F1" for t in types), "hard negatives with a false event"],
                   rows)


@dataclass(frozen=True)
class LearningCurve:
    chart: charts.LineChart
    head: list[str]
    rows: list[list[str]]


def learning_view(curve: dict[str, Any] | None) -> LearningCurve | None:
    """The learning-curve stage's points as a chart (pooled and per source) and a table."""
    points = (curve or {}).get("points") or []
    if not points:
        return None
    sources = sorted({s for p in points for s in p["per_source"]}, key=source_order)
    series = [charts.CurveSeries("pooled", [p["macro_f1"] for p in points]),
              *(charts.CurveSeries(s, [p["per_source"].get(s) for p in points]) for s in sources)]
    head = ["share of real data", "real sentences per fold model", "macro-F1 pooled", *sources]
    rows = [[f"{100 * p['fraction']:.0f}%", str(p["real_sentences"]), charts.fmt(p["macro_f1"]),
             *(charts.fmt(p["per_source"].get(s)) for s in sources)] for p in points]
    return LearningCurve(charts.learning_chart([p["real_sentences"] for p in points], series), head, rows)


def pr_views(report: dict[str, Any], systems: Systems) -> list[charts.LineChart]:
    return [charts.pr_chart(etype, [charts.PrSeries(label_of(k, s), dig(s, "pr_curves", etype, "recall"),
                                                    dig(s, "pr_curves", etype, "precision"),
                                                    dig(s, "per_type", etype, "pr_auc"))
                                    for k, s in systems])
            for etype in report.get("event_types") or []]


def folds_view(systems: Systems) -> Folds:
    series = []
    for key, s in systems:
        per_fold = sorted(as_dict(s.get("per_fold")).items(), key=lambda kv: fold_order(kv[0]))
        series.append(charts.FoldSeries(label_of(key, s), [(f, dig(r, "macro_f1"), dig(r, "n")) for f, r in per_fold],
                                        dig(s, "fold_spread", "macro_f1_mean"), dig(s, "fold_spread", "macro_f1_std")))
    fold_ids = sorted({str(f) for _, s in systems for f in as_dict(s.get("per_fold"))}, key=fold_order)
    head = ["System", *(f"fold {f} (n={shown(first_known(systems, 'per_fold', f, 'n'))})" for f in fold_ids)]
    rows = [[label_of(k, s), *(fmt(dig(s, "per_fold", f, "macro_f1")) for f in fold_ids)] for k, s in systems]
    return Folds(charts.fold_strip(series), head, rows)


def cooccurrence_view(report: dict[str, Any]) -> charts.HeatMap | None:
    labels = dig(report, "cooccurrence", "labels") or []
    matrix = dig(report, "cooccurrence", "matrix") or []
    return charts.heatmap(list(labels), list(matrix)) if labels else None


def data_card_view(card: dict[str, Any]) -> DataCard:
    """Counts per type × source and per fold, the excluded tasks, agreement and first-pass review."""
    keys = ["sentences", *(card.get("event_types") or []), "no_event"]
    per_source, per_fold = as_dict(card.get("per_source")), as_dict(card.get("per_fold"))
    sources = sorted(per_source, key=source_order)

    def cell(*path: str) -> Any:
        return shown(dig(card, *path))

    excluded = as_dict(card.get("excluded"))
    task_keys = ["file", "task", "sentence_id", "reason"]
    return DataCard(
        source_head=["", *(f"{s} (training only)" if s == "authored" else s for s in sources), "total"],
        type_rows=[[k, *(cell("per_source", s, k) for s in sources), cell("total", k)] for k in keys],
        fold_head=["fold", "groups", *keys],
        fold_rows=[["train only" if f == "train_only" else f"fold {f}",
                    *(cell("per_fold", f, k) for k in ["groups", *keys])] for f in per_fold],
        excluded_count=excluded.get("count", NA),
        reasons=[[r, n] for r, n in as_dict(excluded.get("by_reason")).items()],
        task_head=task_keys,
        tasks=[[dig(t, k) or "" for k in task_keys] for t in excluded.get("tasks") or []],
        disagreements=len(card.get("disagreements") or []),
        agreement=agreement_view(card),
        first_pass=first_pass_view(card),
        model_changes=model_changes_view(card),
    )


def agreement_view(card: dict[str, Any]) -> Agreement | None:
    """Krippendorff's alpha per type over tasks several annotators answered (all, and per
    source), and where they differ."""
    found = as_dict(card.get("agreement"))
    if not found:
        return None
    per_source = as_dict(found.get("per_source"))
    sources = sorted(per_source, key=source_order)
    head = ["type", f"all ({found.get('tasks')} tasks)",
            *(f"{s} ({as_dict(per_source[s]).get('tasks')} tasks)" for s in sources)]
    alphas = [[t, fmt(a), *(fmt(dig(per_source[s], "krippendorff_alpha", t)) for s in sources)]
              for t, a in as_dict(found.get("krippendorff_alpha")).items()]
    differ = [[as_dict(d).get("sentence_id", ""), json.dumps(dig(d, "answers")), json.dumps(dig(d, "resolved"))]
              for d in card.get("disagreements") or []]
    return Agreement(found.get("tasks"), found.get("annotators"), head, alphas, differ)


def first_pass_view(card: dict[str, Any]) -> FirstPass | None:
    """Per source that arrived pre-labelled: how review changed those labels, and why."""
    review = as_dict(card.get("first_pass_review"))
    if not review:
        return None
    types = list(card.get("event_types") or [])
    rows = [[src, as_dict(r).get("reviewed", NA), as_dict(r).get("changed", NA),
             *(f"+{dig(r, 'added', t) or 0} −{dig(r, 'removed', t) or 0}" for t in types)]
            for src, r in review.items()]
    changes = [[as_dict(c).get("sentence_id", ""), dig(c, "first_pass"), dig(c, "labels"), as_dict(c).get("reason", "")]
               for r in review.values() for c in as_dict(r).get("changes") or []]
    return FirstPass(["source", "reviewed", "changed", *types], rows, changes)


def model_changes_view(card: dict[str, Any]) -> ModelChanges | None:
    """Per model version: how annotators treated its pre-annotations, per type."""
    found = as_dict(card.get("model_changes"))
    if not found:
        return None
    types = list(card.get("event_types") or [])
    rows = [[version, as_dict(v).get("answers", NA), as_dict(v).get("unchanged", NA),
             *(f"✓{dig(v, 'per_type', t, 'accepted') or 0} +{dig(v, 'per_type', t, 'added') or 0} "
               f"−{dig(v, 'per_type', t, 'removed') or 0}" for t in types)]
            for version, v in found.items()]
    return ModelChanges(["model version", "answers", "left unchanged", *types], rows)


def error_view(error: dict[str, Any], types: list[str]) -> ErrorRow:
    """One error; a score at or above its type's threshold (0.5 if unknown) is marked high."""
    scores = as_dict(error.get("scores"))
    names = [t for t in types if t in scores] + [t for t in scores if t not in types]

    def high(t: str) -> bool:
        threshold = dig(error, "thresholds", t)
        return is_num(scores[t]) and scores[t] >= (threshold if is_num(threshold) else 0.5)

    return ErrorRow(error.get("text", ""), error.get("id", ""), error.get("gold"), error.get("predicted"),
                    error.get("false_positives"), error.get("false_negatives"),
                    [ScoreLine(f"{t} {fmt(scores[t], 2)}", high(t)) for t in names],
                    error.get("source", NA), error.get("fold", NA))


# ---------------------------------------------------------------- the page

def html_escape(value: Any) -> Markup:
    """Jinja's ``finalize``: escape every value with ``html.escape``'s entities (``&quot;``, ``&#x27;``)
    rather than markupsafe's (``&#34;``, ``&#39;``), so ``eval/dashboard.html`` keeps the bytes the
    earlier renderer wrote (no spurious diff). Values already marked safe (macro output, the two
    package files) pass through; autoescape stays on as the backstop."""
    if hasattr(value, "__html__"):
        return Markup(value.__html__())
    return Markup(html.escape(str(value), quote=True))


def px(value: float) -> str:
    """An SVG coordinate: a tenth of a pixel is finer than any screen shows."""
    return f"{value:.1f}"


@cache
def template() -> Template:
    env = Environment(loader=PackageLoader("newsevents", "templates"),
                      autoescape=select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True),
                      undefined=StrictUndefined, finalize=html_escape,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["px"] = px
    return env.get_template(TEMPLATE)


def static_text(name: str) -> str:
    """A file of ``newsevents/static``, read from the installed package (works from a wheel too)."""
    return (resources.files("newsevents") / "static" / name).read_text(encoding="utf-8")


def render_dashboard(report: dict[str, Any], data_card: dict[str, Any], errors: list[dict[str, Any]],
                     curve: dict[str, Any] | None = None) -> str:
    """Render the whole dashboard page.

    Args:
        report: the evaluate stage's ``report.json`` (systems, per type, folds, curves, co-occurrence).
        data_card: the prepare stage's ``data_card.json``.
        errors: the rows of ``errors.jsonl``.
        curve: the learning-curve stage's ``learning_curve.json`` (its section is left out without it).
    Returns:
        One HTML document with inline CSS, SVG and JavaScript; it loads nothing else.
    """
    types = list(report.get("event_types") or data_card.get("event_types") or [])
    systems = ordered_systems(report)
    return template().render(
        types=types,
        headline=headline_view(report, systems),
        heldout=heldout_view(report, systems),
        per_type=per_type_view(report, systems),
        pr_charts=pr_views(report, systems),
        folds=folds_view(systems),
        learning=learning_view(curve),
        cooccurrence=cooccurrence_view(report),
        card=data_card_view(data_card),
        errors=[error_view(e, types) for e in errors],
        css=static_text("dashboard.css"),
        js=static_text("dashboard.js"),
    )


def main(report: Path, errors: Path, data_card: Path, curve: Path, output: Path) -> Path:
    """The dashboard stage: read the eval files and the data card, write the page atomically.

    Args:
        report: the evaluate stage's ``report.json``.
        errors: the evaluate stage's ``errors.jsonl``.
        data_card: the prepare stage's ``data_card.json``.
        curve: the learning-curve stage's ``learning_curve.json``.
        output: where the page goes (``eval/dashboard.html`` in the pipeline).
    Returns:
        ``output``.
    """
    report_data = json.loads(report.read_text(encoding="utf-8"))
    card = json.loads(data_card.read_text(encoding="utf-8"))
    rows = read_jsonl(errors)
    points = json.loads(curve.read_text(encoding="utf-8"))
    atomic.write_text(output, render_dashboard(report_data, card, rows, points))
    logger.info("dashboard: %d systems, %d errors → %s", len(report_data.get("systems") or {}), len(rows), output)
    return output
