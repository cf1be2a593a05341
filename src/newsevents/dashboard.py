"""The evaluation dashboard: one self-contained HTML page rendered from the evaluate stage's files.

The page must open from disk on a machine with no network (a reviewer's laptop, a CI artifact), so
everything is inline: CSS, SVG charts drawn here in Python, and a few lines of JavaScript for the
error search. It only renders ``report.json``, ``errors.jsonl`` and the data card; it computes no
metric of its own, and a missing piece shows as "n/a" instead of failing the stage.
"""

from __future__ import annotations

import json
import logging
from html import escape
from pathlib import Path
from typing import Any

from newsevents import atomic

logger = logging.getLogger(__name__)

# One colour per system in page order (model first); Okabe-Ito, so colour-blind readers can tell them apart.
PALETTE = ("#0b62a4", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#999999")
SOURCES = ("seed", "newswire", "authored")
NA = "n/a"
BAR_H, BAR_GAP, GROUP_GAP = 13, 2, 16  # px; per-type bar chart geometry
PR_W, PR_H = 280, 230  # px; one small PR chart per event type
CELL = 72  # px; one co-occurrence heatmap cell: fits "sentence" in bold 12px
Systems = list[tuple[str, dict[str, Any]]]


# ---------------------------------------------------------------- small HTML/SVG helpers

def esc(value: Any) -> str:
    """Escaped text, safe in element content and in attributes."""
    return escape(str(value), quote=True)


def el(tag: str, *children: str, **attrs: Any) -> str:
    """An element; ``children`` are markup (already escaped). ``class_`` → class, ``a_b`` → a-b."""
    parts = []
    for key, value in attrs.items():
        if value is not None:
            shown = f"{value:.1f}" if isinstance(value, float) else value
            parts.append(f' {key.rstrip("_").replace("_", "-")}="{esc(shown)}"')
    return f"<{tag}{''.join(parts)}>{''.join(children)}</{tag}>"


def dig(value: Any, *path: str) -> Any:
    """``value[path[0]][path[1]]...``, or None where any step is missing or not a dict."""
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fmt(value: Any, digits: int = 3) -> str:
    """A metric as text: fixed decimals, or "n/a" when missing."""
    return f"{value:.{digits}f}" if is_num(value) else NA


def table(head: list[str], rows: list[list[str]], *, top: str = "", row_class: list[str | None] | None = None,
          **attrs: Any) -> str:
    """A table from header and cell markup; ``top`` is an optional extra header row."""
    classes = row_class or [None] * len(rows)
    thead = el("thead", top, el("tr", *(el("th", h) for h in head)))
    body = el("tbody", *(el("tr", *(el("td", c) for c in r), class_=k) for r, k in zip(rows, classes)))
    return el("table", thead, body, **attrs)


def section(sid: str, title: str, *body: str) -> str:
    return el("section", el("h2", esc(title)), *body, id=sid)


def note(content: str) -> str:
    return el("p", esc(content), class_="note")


def svg(width: float, height: float, title: str, *body: str) -> str:
    """An ``svg.chart`` sized in CSS pixels, with a title for screen readers and tooltips."""
    return el("svg", el("title", esc(title)), *body, class_="chart", width=width, height=height,
              viewBox=f"0 0 {width:.0f} {height:.0f}", role="img")


def text(x: float, y: float, content: Any, **attrs: Any) -> str:
    return el("text", esc(content), x=float(x), y=float(y), **attrs)


def line(x1: float, y1: float, x2: float, y2: float, **attrs: Any) -> str:
    return el("path", d=f"M{x1:.1f} {y1:.1f}L{x2:.1f} {y2:.1f}", **attrs)


def x_axis(x0: float, x1: float, y_top: float, y_axis: float, label: str, ticks: int = 5) -> str:
    """Vertical grid lines and tick labels for a 0..1 scale drawn from x0 to x1."""
    out = []
    for i in range(ticks + 1):
        x = x0 + (x1 - x0) * i / ticks
        out.append(line(x, y_top, x, y_axis, class_="grid"))
        out.append(text(x, y_axis + 14, f"{i / ticks:.1f}", class_="tick", text_anchor="middle"))
    out.append(text((x0 + x1) / 2, y_axis + 30, label, class_="axis-label", text_anchor="middle"))
    return "".join(out)


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def legend(labels: list[str], small: bool = False) -> str:
    items = (el("li", el("span", class_="swatch", style=f"background:{color(i)}"), esc(lab))
             for i, lab in enumerate(labels))
    return el("ul", *items, class_="legend small" if small else "legend")


def ordered_systems(report: dict[str, Any]) -> Systems:
    """(key, system) pairs: the model first, then the baselines in report order."""
    systems = report.get("systems") or {}
    pairs = [(k, s if isinstance(s, dict) else {}) for k, s in systems.items()]
    return sorted(pairs, key=lambda kv: kv[0] != "model")


def label_of(key: str, system: dict[str, Any]) -> str:
    return str(system.get("label") or key)


def first_known(systems: Systems, *path: str) -> Any:
    """The first system's value at ``path`` that is present (support and fold sizes are shared)."""
    return next((v for _, s in systems if (v := dig(s, *path)) is not None), None)


def fold_order(fold: str) -> tuple[int, str]:
    return (int(fold), "") if str(fold).isdigit() else (1 << 30, str(fold))


def chips(labels: Any, kind: str = "") -> str:
    if not labels:
        return el("span", "—", class_="muted")
    return "".join(el("span", esc(lab), class_=f"chip {kind}".strip()) for lab in labels)


# ---------------------------------------------------------------- sections

def headline_section(report: dict[str, Any]) -> str:
    """Systems × headline metrics; the row with the best macro-F1 highlighted."""
    systems = ordered_systems(report)
    sources = sorted({src for _, s in systems for src in s.get("per_source") or {}},
                     key=lambda src: (SOURCES.index(src) if src in SOURCES else len(SOURCES), src))
    f1s = [dig(s, "macro", "f1") for _, s in systems]
    best = max((f for f in f1s if is_num(f)), default=None)
    top = el("tr", el("th", ""), el("th", "pooled: every real sentence", colspan=4), el("th", "macro-F1 per fold"),
             *([el("th", "macro-F1 per source", colspan=len(sources))] if sources else []))
    head = ["System", "macro-F1", "micro-F1", "macro precision", "macro recall", "mean ± std", *map(esc, sources)]
    rows = []
    for (key, s), f1 in zip(systems, f1s):
        mean, std = dig(s, "fold_spread", "macro_f1_mean"), dig(s, "fold_spread", "macro_f1_std")
        rows.append([esc(label_of(key, s)), el("strong", fmt(f1)) if f1 == best else fmt(f1),
                     fmt(dig(s, "micro", "f1")), fmt(dig(s, "macro", "precision")), fmt(dig(s, "macro", "recall")),
                     esc(NA if mean is None else f"{fmt(mean)} ± {fmt(std)}"),
                     *(fmt(dig(s, "per_source", src, "macro", "f1")) for src in sources)])
    marks = ["best" if best is not None and f1 == best else None for f1 in f1s]
    intro = note(f"Out-of-fold predictions on {report.get('n_sentences', NA)} real sentences (every source pooled) "
                 f"in {report.get('n_folds', NA)} folds grouped by story or source page. The headline is pooled "
                 "macro-F1; highlighted: the best.")
    return section("headline", "Headline metrics", intro,
                   table(head, rows, top=top, row_class=marks, class_="num headline"))


def per_type_chart(report: dict[str, Any]) -> str:
    """Grouped horizontal bars: F1 per event type for every system, the support beside each type."""
    systems, types = ordered_systems(report), list(report.get("event_types") or [])
    left, right, top, width = 130, 48, 8, 760
    x0, x1 = left, width - right
    group_h = len(systems) * (BAR_H + BAR_GAP) + GROUP_GAP
    bottom = top + max(len(types), 1) * group_h
    body = [x_axis(x0, x1, top, bottom, "F1 (out-of-fold)")]
    for g, etype in enumerate(types):
        y = top + g * group_h + GROUP_GAP / 2
        mid = y + (group_h - GROUP_GAP) / 2
        support = first_known(systems, "per_type", etype, "support")
        body.append(text(left - 10, mid - 2, etype, class_="cat", text_anchor="end"))
        body.append(text(left - 10, mid + 12, f"support {NA if support is None else support}", class_="tick",
                         text_anchor="end"))
        for i, (key, s) in enumerate(systems):
            f1 = dig(s, "per_type", etype, "f1")
            by = y + i * (BAR_H + BAR_GAP)
            w = (x1 - x0) * min(max(f1, 0.0), 1.0) if is_num(f1) else 0.0
            tip = el("title", esc(f"{label_of(key, s)} · {etype}: F1 {fmt(f1)}"))
            body.append(el("rect", tip, x=float(x0), y=float(by), width=w, height=float(BAR_H), fill=color(i)))
            body.append(text(x0 + w + 4, by + BAR_H - 3, fmt(f1, 2), class_="value"))
    return svg(width, bottom + 36, "F1 per event type and system", *body)


def per_source_table(report: dict[str, Any]) -> str:
    """Every system on each real source and pooled: n, macro/micro-F1 and F1 per type."""
    types = list(report.get("event_types") or [])
    head = ["System", "Sentences", "n", "macro-F1", "micro-F1", *map(esc, types)]
    rows = []
    for key, s in ordered_systems(report):
        slices = [("pooled", s), *sorted((s.get("per_source") or {}).items(),
                                         key=lambda kv: SOURCES.index(kv[0]) if kv[0] in SOURCES else len(SOURCES))]
        for name, m in slices:
            rows.append([esc(label_of(key, s)), esc(name), fmt(dig(m, "n"), 0), fmt(dig(m, "macro", "f1")),
                         fmt(dig(m, "micro", "f1")), *(fmt(dig(m, "per_type", t, "f1")) for t in types)])
    return table(head, rows, class_="num per-source")


def per_type_section(report: dict[str, Any]) -> str:
    labels = [label_of(k, s) for k, s in ordered_systems(report)]
    return section("per-type", "F1 per event type", note("Support is the number of real sentences with that type."),
                   legend(labels), per_type_chart(report),
                   note("Per source: pooled is every real sentence; the sources are its parts."),
                   per_source_table(report))


def pr_chart(etype: str, curves: list[tuple[str, Any, Any]]) -> str:
    """One small precision–recall chart; ``curves`` are (system label, curve or None, PR-AUC), in colour order."""
    x0, x1, y0, y1 = 44, PR_W - 12, PR_H - 40, 10
    sx, sy = (lambda r: x0 + (x1 - x0) * r), (lambda p: y0 - (y0 - y1) * p)  # recall, precision → px
    body = [el("rect", x=float(x0), y=float(y1), width=float(x1 - x0), height=float(y0 - y1), class_="frame")]
    for v in (0.0, 0.5, 1.0):
        body += [line(sx(v), y1, sx(v), y0, class_="grid"), line(x0, sy(v), x1, sy(v), class_="grid"),
                 text(sx(v), y0 + 14, f"{v:.1f}", class_="tick", text_anchor="middle"),
                 text(x0 - 6, sy(v) + 4, f"{v:.1f}", class_="tick", text_anchor="end")]
    body.append(text((x0 + x1) / 2, y0 + 32, "recall", class_="axis-label", text_anchor="middle"))
    body.append(text(12, (y0 + y1) / 2, "precision", class_="axis-label", text_anchor="middle",
                     transform=f"rotate(-90 12 {(y0 + y1) / 2:.1f})"))
    names, drawn = [], 0
    for i, (label, curve, auc) in enumerate(curves):
        pairs = zip(dig(curve, "recall") or [], dig(curve, "precision") or [])
        points = [(r, p) for r, p in pairs if is_num(r) and is_num(p)]  # threshold order, as evaluate wrote it
        if points:
            drawn += 1
            d = "M" + "L".join(f"{sx(r):.1f} {sy(p):.1f}" for r, p in points)
            body.append(el("path", el("title", esc(f"{label}: PR-AUC {fmt(auc, 2)}")), d=d, fill="none",
                           stroke=color(i), stroke_width=2))
        names.append(f"{label}: PR-AUC {fmt(auc, 2)}" if points else f"{label}: no curve")
    if not drawn:
        body.append(text((x0 + x1) / 2, (y0 + y1) / 2, NA, class_="axis-label", text_anchor="middle"))
    title = f"{etype}: precision vs recall; " + "; ".join(names)
    return el("figure", el("figcaption", esc(etype)), svg(PR_W, PR_H, title, *body), legend(names, small=True))


def pr_section(report: dict[str, Any]) -> str:
    systems = ordered_systems(report)
    figures = [pr_chart(etype, [(label_of(k, s), dig(s, "pr_curves", etype), dig(s, "per_type", etype, "pr_auc"))
                                for k, s in systems])
               for etype in report.get("event_types") or []]
    return section("pr-curves", "Precision–recall curves per event type",
                   note("Precision against recall as the score threshold moves, out-of-fold. Systems without "
                        "scores (rules) have no curve."), el("div", *figures, class_="grid-charts"))


def fold_chart(report: dict[str, Any]) -> str:
    """Strip plot: one row per system, a dot per fold's macro-F1, a band for mean ± std."""
    systems = ordered_systems(report)
    left, right, top, row_h, width = 240, 110, 8, 36, 800
    x0, x1 = left, width - right
    sx = lambda v: x0 + (x1 - x0) * v  # noqa: E731 (macro-F1 → px)
    bottom = top + max(len(systems), 1) * row_h
    body = [x_axis(x0, x1, top, bottom, "macro-F1 per fold")]
    for i, (key, s) in enumerate(systems):
        cy = top + i * row_h + row_h / 2
        mean, std = dig(s, "fold_spread", "macro_f1_mean"), dig(s, "fold_spread", "macro_f1_std")
        body.append(text(left - 10, cy + 4, label_of(key, s), class_="cat", text_anchor="end"))
        body.append(text(x1 + 10, cy + 4, NA if mean is None else f"{fmt(mean)} ± {fmt(std)}", class_="value"))
        if is_num(mean):
            lo, hi = max(mean - (std or 0.0), 0.0), min(mean + (std or 0.0), 1.0)
            body.append(el("rect", x=sx(lo), y=cy - 11, width=sx(hi) - sx(lo), height=22.0, fill=color(i),
                           opacity="0.15"))
            body.append(line(sx(mean), cy - 13, sx(mean), cy + 13, stroke=color(i), stroke_width=2))
        folds = sorted((s.get("per_fold") or {}).items(), key=lambda kv: fold_order(kv[0]))
        for j, (fold, row) in enumerate(folds):
            f1 = dig(row, "macro_f1")
            if is_num(f1):
                jitter = (j - (len(folds) - 1) / 2) * 3.5  # px; keeps folds with equal scores apart
                size = NA if dig(row, "n") is None else dig(row, "n")
                tip = el("title", esc(f"{label_of(key, s)} · fold {fold} (n={size}): macro-F1 {fmt(f1)}"))
                body.append(el("circle", tip, cx=sx(f1), cy=cy + jitter, r=5.0, fill=color(i), stroke="#fff"))
    return svg(width, bottom + 36, "Macro-F1 per fold and system (dots), mean ± std (band)", *body)


def folds_section(report: dict[str, Any]) -> str:
    systems = ordered_systems(report)
    fold_ids = sorted({str(f) for _, s in systems for f in s.get("per_fold") or {}}, key=fold_order)
    sizes = {f: first_known(systems, "per_fold", f, "n") for f in fold_ids}
    head = ["System", *(esc(f"fold {f} (n={NA if sizes[f] is None else sizes[f]})") for f in fold_ids)]
    rows = [[esc(label_of(k, s)), *(fmt(dig(s, "per_fold", f, "macro_f1")) for f in fold_ids)] for k, s in systems]
    intro = note("Each dot is one fold's macro-F1; the band is mean ± one standard deviation. Folds are "
                 "grouped by article, so their sizes differ.")
    return section("folds", "Spread over folds", intro, fold_chart(report), table(head, rows, class_="num"))


def heatmap(labels: list[str], matrix: list[list[Any]]) -> str:
    """Gold type (rows) × predicted type (cols) counts, shaded by count."""
    left, top, n = 110, 44, len(labels)
    peak = max((c for row in matrix for c in row if is_num(c)), default=0) or 1
    body = [text(left + n * CELL / 2, 14, "predicted →", class_="axis-label", text_anchor="middle"),
            text(left - 8, top - 8, "gold ↓", class_="axis-label", text_anchor="end")]
    for j, lab in enumerate(labels):
        body.append(text(left + j * CELL + CELL / 2, top - 8, lab, class_="cat", text_anchor="middle"))
    for i, gold in enumerate(labels):
        row = matrix[i] if i < len(matrix) else []
        body.append(text(left - 8, top + i * CELL + CELL / 2 + 4, gold, class_="cat", text_anchor="end"))
        for j, pred in enumerate(labels):
            count = row[j] if j < len(row) and is_num(row[j]) else None
            share = (count / peak) ** 0.5 if count is not None else 0.0  # sqrt: small counts stay visible
            shown = NA if count is None else count
            x, y = left + j * CELL, top + i * CELL
            body.append(el("rect", el("title", esc(f"gold {gold}, predicted {pred}: {shown}")), x=float(x),
                           y=float(y), width=float(CELL - 2), height=float(CELL - 2),
                           fill=f"rgba(11, 98, 164, {0.04 + 0.92 * share:.2f})", class_="diag" if i == j else None))
            body.append(text(x + CELL / 2 - 1, y + CELL / 2 + 4, shown, text_anchor="middle",
                             class_="cell dark" if share > 0.7 else "cell"))
    return svg(left + n * CELL + 10, top + n * CELL + 10, "Gold vs predicted type counts for the model", *body)


def cooccurrence_section(report: dict[str, Any]) -> str:
    labels, matrix = dig(report, "cooccurrence", "labels") or [], dig(report, "cooccurrence", "matrix") or []
    intro = note('Counts of (gold type, predicted type) pairs for the model; "none" is a sentence with no '
                 "type. Off-diagonal cells are confusions.")
    body = heatmap(list(labels), matrix) if labels else el("p", NA, class_="muted")
    return section("cooccurrence", "Gold vs predicted types (model)", intro, body)


def data_card_section(card: dict[str, Any]) -> str:
    """Counts per type × source and per fold, and the excluded tasks; authored data flagged training-only."""
    keys = ["sentences", *(card.get("event_types") or []), "no_event"]
    per_source, per_fold = card.get("per_source") or {}, card.get("per_fold") or {}
    sources = [s for s in SOURCES if s in per_source] + sorted(set(per_source) - set(SOURCES))
    head = ["", *(esc(f"{s} (training only)" if s == "authored" else s) for s in sources), "total"]

    def cell(*path: str) -> str:
        value = dig(card, *path)
        return esc(NA if value is None else value)

    rows = [[esc(k), *(cell("per_source", s, k) for s in sources), cell("total", k)] for k in keys]
    fold_rows = [[esc("train only" if f == "train_only" else f"fold {f}"),
                  *(cell("per_fold", f, k) for k in ["groups", *keys])] for f in per_fold]
    excluded = card.get("excluded") or {}
    reasons = [[esc(r), esc(n)] for r, n in (excluded.get("by_reason") or {}).items()]
    task_keys = ("file", "task", "sentence_id", "reason")
    tasks = [[esc(dig(t, k) or "") for k in task_keys] for t in excluded.get("tasks") or []]
    parts = [
        note("Authored examples (written to cover rare types and traps) are training-only: they are never "
             "in a fold and never evaluated on."),
        el("h3", "Sentences per type and source"), table(head, rows, class_="num compact"),
        el("h3", "Per fold"), table(["fold", "groups", *map(esc, keys)], fold_rows, class_="num compact"),
        el("h3", esc(f"Excluded tasks: {excluded.get('count', NA)}")),
        table(["reason", "tasks"], reasons, class_="num compact") if reasons else el("p", "None.", class_="muted"),
    ]
    if tasks:
        parts.append(el("details", el("summary", "Excluded tasks"), table(list(task_keys), tasks)))
    parts.append(note(f"Annotator disagreements: {len(card.get('disagreements') or [])}"))
    parts.append(agreement_part(card))
    parts.append(first_pass_part(card))
    return section("data-card", "Data card", *parts)


def first_pass_part(card: dict[str, Any]) -> str:
    """Per source that arrived pre-labelled: how review changed those labels, and why."""
    review = card.get("first_pass_review") or {}
    if not review:
        return ""
    types = list(card.get("event_types") or [])
    rows = [[esc(src), esc(r.get("reviewed", NA)), esc(r.get("changed", NA)),
             *(esc(f"+{dig(r, 'added', t) or 0} −{dig(r, 'removed', t) or 0}") for t in types)]
            for src, r in review.items()]
    changes = [[esc(c.get("sentence_id", "")), chips(c.get("first_pass")), chips(c.get("labels")), esc(c.get("reason", ""))]
               for r in review.values() for c in r.get("changes") or []]
    return el("div",
              el("h3", "Review of first-pass labels"),
              table(["source", "reviewed", "changed", *map(esc, types)], rows, class_="num compact"),
              el("details", el("summary", esc(f"Changed labels: {len(changes)}")),
                 table(["sentence", "first pass", "reviewed", "reason"], changes)) if changes else "",
              id="first-pass-review")


def agreement_part(card: dict[str, Any]) -> str:
    """Krippendorff's alpha per type over tasks several annotators answered, and where they differ."""
    agreement = card.get("agreement")
    if not agreement:
        return el("p", "Inter-annotator agreement: no task has answers from two annotators yet.",
                  class_="muted", id="agreement")
    alphas = agreement.get("krippendorff_alpha") or {}
    rows = [[esc(t), esc(fmt(a))] for t, a in alphas.items()]
    differ = [[esc(d.get("sentence_id", "")), esc(json.dumps(d.get("answers"))), esc(json.dumps(d.get("resolved")))]
              for d in card.get("disagreements") or []]
    return el("div",
              el("h3", esc(f"Inter-annotator agreement ({agreement.get('tasks')} tasks, "
                           f"{agreement.get('annotators')} annotators)")),
              table(["type", "Krippendorff's alpha"], rows, class_="num compact"),
              el("details", el("summary", esc(f"Tasks where annotators disagree: {len(differ)}")),
                 table(["sentence", "answers", "resolved"], differ)) if differ else "",
              id="agreement")


def error_row(error: dict[str, Any], types: list[str]) -> str:
    """One table row; a score at or above its type's threshold (0.5 if unknown) is bold."""
    scores = error.get("scores") or {}
    names = [t for t in types if t in scores] + [t for t in scores if t not in types]

    def above(t: str) -> bool:
        threshold = dig(error, "thresholds", t)
        return is_num(scores[t]) and scores[t] >= (threshold if is_num(threshold) else 0.5)

    score_lines = "".join(el("div", esc(f"{t} {fmt(scores[t], 2)}"), class_="hi" if above(t) else None)
                          for t in names)
    return el("tr",
              el("td", esc(error.get("text", "")), el("div", esc(error.get("id", "")), class_="muted small")),
              el("td", chips(error.get("gold"))), el("td", chips(error.get("predicted"))),
              el("td", chips(error.get("false_positives"), "fp")),
              el("td", chips(error.get("false_negatives"), "fn")),
              el("td", score_lines or NA, class_="scores"), el("td", esc(error.get("source", NA))),
              el("td", esc(error.get("fold", NA))))


def errors_section(errors: list[dict[str, Any]], types: list[str]) -> str:
    """The error table with a client-side substring search (SEARCH_JS)."""
    head = ["sentence", "gold", "predicted", "false positives", "false negatives", "scores", "source", "fold"]
    search = ('<input id="error-search" type="search" placeholder="Filter errors (text, type, id, source)…" '
              'aria-label="Filter errors">')
    count = el("span", esc(f"{len(errors)} of {len(errors)} errors shown"), id="error-count")
    rows = el("tbody", *(error_row(e, types) for e in errors))
    intro = note("Sentences where the model's types differ from gold. Bold scores are at or above the "
                 "type's threshold.")
    return section("errors", "Errors (model)", intro, el("div", search, count, class_="toolbar"),
                   el("table", el("thead", el("tr", *(el("th", h) for h in head))), rows, id="error-table"))


# Case-insensitive substring filter over each row's text; keeps #error-count in step.
SEARCH_JS = """
(function () {
  var input = document.getElementById("error-search"), count = document.getElementById("error-count");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#error-table tbody tr"));
  function update() {
    var q = input.value.trim().toLowerCase(), shown = 0;
    rows.forEach(function (row) {
      row.hidden = q !== "" && row.textContent.toLowerCase().indexOf(q) === -1;
      shown += row.hidden ? 0 : 1;
    });
    count.textContent = shown + " of " + rows.length + " errors shown";
  }
  input.addEventListener("input", update);
  update();
})();
"""

CSS = """
:root { --ink: #1d2530; --muted: #5f6b7a; --line: #dde3ea; --bg: #f5f7fa; --accent: #0b62a4; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", Arial, sans-serif; }
header, main { max-width: 1120px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 24px; } h1 { margin: 0 0 4px; font-size: 24px; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 18px 0; }
h2 { margin: 0 0 8px; font-size: 18px; } h3 { margin: 18px 0 6px; font-size: 15px; }
.note, .muted, #error-count { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #eef2f6; font-weight: 600; }
table.num td + td, table.num th + th { text-align: right; font-variant-numeric: tabular-nums; }
table.headline th { white-space: nowrap; }
table.headline thead tr:first-child th { text-align: center; font-weight: 500; color: var(--muted); }
tr.best td { background: #e3f0fb; } tr.best td:first-child { box-shadow: inset 4px 0 var(--accent); }
table.compact { width: auto; min-width: 420px; } table.compact td, table.compact th { padding: 4px 14px; }
svg.chart { display: block; max-width: 100%; height: auto; overflow: visible; }
svg .grid { stroke: #e3e8ee; stroke-width: 1; } svg .frame { fill: #fcfdfe; stroke: #c9d2dc; }
svg text { font-size: 12px; fill: var(--ink); } svg .tick { fill: var(--muted); font-size: 11px; }
svg .axis-label { fill: var(--muted); font-weight: 600; } svg .cat { font-weight: 600; }
svg .value { font-size: 11px; fill: var(--muted); } svg .cell { font-size: 13px; } svg .cell.dark { fill: #fff; }
svg .diag { stroke: var(--ink); stroke-width: 1.5; }
.legend { list-style: none; padding: 0; margin: 6px 0 10px; display: flex; flex-wrap: wrap; gap: 4px 16px; }
.legend.small { display: block; } .legend.small li { margin: 1px 0; display: flex; }
.swatch { flex: none; display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin: 3px 6px 0 0; }
.grid-charts { display: flex; flex-wrap: wrap; gap: 12px 24px; }
figure { margin: 0; width: 280px; } figcaption { font-weight: 600; margin-bottom: 2px; text-transform: capitalize; }
.chip { display: inline-block; padding: 0 6px; margin: 1px 2px 1px 0; border-radius: 9px; background: #e8edf3; }
.chip, .small, .legend.small { font-size: 12px; }
.chip.fp { background: #fde2e1; color: #8a1c17; } .chip.fn { background: #fff0cc; color: #7a5200; }
td.scores { font: 12px/1.35 ui-monospace, "DejaVu Sans Mono", monospace; white-space: nowrap; color: var(--muted); }
td.scores .hi { color: var(--ink); font-weight: 700; }
#error-table td:first-child { min-width: 300px; }
.toolbar { display: flex; align-items: center; gap: 14px; margin-bottom: 6px; }
#error-search { flex: 0 1 420px; padding: 6px 10px; border: 1px solid #b8c2cc; border-radius: 6px; font: inherit; }
"""

NAV = (("headline", "Headline"), ("per-type", "Per type"), ("pr-curves", "PR curves"), ("folds", "Folds"),
       ("cooccurrence", "Confusions"), ("data-card", "Data card"), ("errors", "Errors"))


def render_dashboard(report: dict[str, Any], data_card: dict[str, Any], errors: list[dict[str, Any]]) -> str:
    """Render the whole dashboard page.

    Args:
        report: the evaluate stage's ``report.json`` (systems, per type, folds, curves, co-occurrence).
        data_card: the prepare stage's ``data_card.json``.
        errors: the rows of ``errors.jsonl``.
    Returns:
        One HTML document with inline CSS, SVG and JavaScript; it loads nothing else.
    """
    types = list(report.get("event_types") or data_card.get("event_types") or [])
    header = el("header", el("h1", "newsevents: evaluation dashboard"),
                note(f"Event types: {', '.join(types) or NA}"),
                el("nav", *(el("a", esc(name), href=f"#{sid}") for sid, name in NAV)))
    main = el("main", headline_section(report), per_type_section(report), pr_section(report),
              folds_section(report), cooccurrence_section(report), data_card_section(data_card),
              errors_section(errors, types))
    head = el("head", '<meta charset="utf-8">',
              '<meta name="viewport" content="width=device-width, initial-scale=1">',
              el("title", "newsevents evaluation dashboard"), el("style", CSS))
    return "<!DOCTYPE html>\n" + el("html", head, el("body", header, main, el("script", SEARCH_JS)), lang="en") + "\n"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(row) for row in f if row.strip()]


def write_dashboard(eval_dir: Path, data_card_path: Path) -> Path:
    """Render ``eval_dir/dashboard.html`` from ``report.json``, ``errors.jsonl`` and the data card.

    Args:
        eval_dir: the evaluate stage's output folder (holds ``report.json`` and ``errors.jsonl``).
        data_card_path: the prepare stage's ``data_card.json``.
    Returns:
        The path of the written page.
    """
    report = json.loads((eval_dir / "report.json").read_text(encoding="utf-8"))
    card = json.loads(data_card_path.read_text(encoding="utf-8"))
    errors = read_jsonl(eval_dir / "errors.jsonl")
    out = eval_dir / "dashboard.html"
    atomic.write_text(out, render_dashboard(report, card, errors))
    logger.info("dashboard: %d systems, %d errors → %s", len(report.get("systems") or {}), len(errors), out)
    return out
