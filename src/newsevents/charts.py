"""Chart geometry for the dashboard: where every bar, tick, curve, dot and cell goes, in SVG pixels.

Kept apart from the page so the numbers can be tested without parsing markup, and the template
only draws what it is given. Inputs are the report's loose values (a missing or non-numeric metric
is drawn as nothing and labelled "n/a"); outputs are frozen records of numbers and plain text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

NA = "n/a"
# One colour per system in page order (model first); Okabe-Ito, so colour-blind readers can tell them apart.
PALETTE = ("#0b62a4", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#999999")
BAR_H, BAR_GAP, GROUP_GAP = 13, 2, 16  # px; per-type bar chart geometry
PR_W, PR_H = 280, 230  # px; one small PR chart per event type
CURVE_W, CURVE_H = 560, 260  # px; the learning curve
CELL = 72  # px; one co-occurrence heatmap cell: fits "sentence" in bold 12px


# ---------------------------------------------------------------- loose report values

def is_num(value: Any) -> bool:
    """A real number; JSON booleans are not metrics."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fmt(value: Any, digits: int = 3) -> str:
    """A metric as text: fixed decimals, or "n/a" when missing."""
    return f"{value:.{digits}f}" if is_num(value) else NA


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


# ---------------------------------------------------------------- records the template draws

@dataclass(frozen=True)
class Text:
    """A label at (x, y); ``anchor`` is the SVG text-anchor, ``rotate`` degrees about (x, y)."""

    x: float
    y: float
    text: str
    cls: str
    anchor: str | None = None
    rotate: float | None = None


@dataclass(frozen=True)
class Segment:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class LegendEntry:
    label: str
    color: str


@dataclass(frozen=True)
class AxisTick:
    """One vertical grid line of a 0..1 scale, and its value printed under the axis."""

    x: float
    label: str


@dataclass(frozen=True)
class XAxis:
    """A horizontal 0..1 scale: grid lines from ``top`` to ``bottom``, tick labels at ``tick_y``."""

    ticks: list[AxisTick]
    top: float
    bottom: float
    tick_y: float
    label: Text


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str  # tooltip
    value: Text  # the F1 printed just past the bar's end


@dataclass(frozen=True)
class BarGroup:
    """One event type: its name and support on the left, a bar per system."""

    name: Text
    support: Text
    bars: list[Bar]


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    title: str
    axis: XAxis
    groups: list[BarGroup]


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Curve:
    points: list[Point]  # in threshold order, as evaluate wrote them
    color: str
    title: str


@dataclass(frozen=True)
class GridStep:
    """One step on both axes of a line chart (0, 0.5, 1 on a PR chart): its two grid lines and two labels."""

    vertical: Segment
    horizontal: Segment
    x_label: Text
    y_label: Text


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class LineChart:
    name: str
    width: int
    height: int
    title: str
    frame: Box
    grid: list[GridStep]
    axis_labels: list[Text]
    curves: list[Curve]
    empty: Text | None  # "n/a" in the middle when no system has a curve
    legend: list[LegendEntry]


@dataclass(frozen=True)
class PrSeries:
    """One system's input to a PR chart: the report's recall and precision lists and PR-AUC."""

    label: str
    recall: Any
    precision: Any
    auc: Any


@dataclass(frozen=True)
class Dot:
    cx: float
    cy: float
    r: float
    title: str


@dataclass(frozen=True)
class StripRow:
    """One system in the fold strip plot: the band is mean ± std, ``mean`` a tick at the mean."""

    name: Text
    spread: Text
    color: str
    band: Box | None
    mean: Segment | None
    dots: list[Dot]


@dataclass(frozen=True)
class StripChart:
    width: int
    height: int
    title: str
    axis: XAxis
    rows: list[StripRow]


@dataclass(frozen=True)
class FoldSeries:
    """One system's input to the strip plot; ``folds`` are (fold id, macro-F1, n) in display order."""

    label: str
    folds: Sequence[tuple[str, Any, Any]]
    mean: Any
    std: Any


@dataclass(frozen=True)
class HeatCell:
    """One (gold, predicted) count; ``shade`` is the fill opacity (its text turns light on dark cells)."""

    box: Box
    shade: float
    title: str
    count: Text
    diagonal: bool


@dataclass(frozen=True)
class HeatRow:
    label: Text
    cells: list[HeatCell]


@dataclass(frozen=True)
class HeatMap:
    width: int
    height: int
    title: str
    axis_labels: list[Text]
    columns: list[Text]
    rows: list[HeatRow]


# ---------------------------------------------------------------- geometry

def x_axis(x0: float, x1: float, top: float, bottom: float, label: str, ticks: int = 5) -> XAxis:
    """A 0..1 scale drawn from x0 to x1, with ``ticks`` equal steps."""
    steps = [AxisTick(x0 + (x1 - x0) * i / ticks, f"{i / ticks:.1f}") for i in range(ticks + 1)]
    return XAxis(steps, top, bottom, bottom + 14, Text((x0 + x1) / 2, bottom + 30, label, "axis-label", "middle"))


def per_type_bars(types: Sequence[str], systems: Sequence[tuple[str, Mapping[str, Any]]],
                  support: Mapping[str, Any]) -> BarChart:
    """Grouped horizontal bars: F1 per event type for every system, the support beside each type.

    Args:
        types: the event types, one group each, top to bottom.
        systems: (label, F1 per type) in colour order.
        support: sentences per type (shown as "n/a" when missing).
    """
    left, right, top, width = 130, 48, 8, 760
    x0, x1 = left, width - right
    group_h = len(systems) * (BAR_H + BAR_GAP) + GROUP_GAP
    bottom = top + max(len(types), 1) * group_h
    groups = []
    for g, etype in enumerate(types):
        y = top + g * group_h + GROUP_GAP / 2
        mid = y + (group_h - GROUP_GAP) / 2
        n = support.get(etype)
        bars = []
        for i, (label, f1s) in enumerate(systems):
            f1 = f1s.get(etype)
            by = y + i * (BAR_H + BAR_GAP)
            w = (x1 - x0) * min(max(f1, 0.0), 1.0) if is_num(f1) else 0.0
            bars.append(Bar(x0, by, w, BAR_H, color(i), f"{label} · {etype}: F1 {fmt(f1)}",
                            Text(x0 + w + 4, by + BAR_H - 3, fmt(f1, 2), "value")))
        groups.append(BarGroup(Text(left - 10, mid - 2, etype, "cat", "end"),
                               Text(left - 10, mid + 12, f"support {NA if n is None else n}", "tick", "end"), bars))
    return BarChart(width, bottom + 36, "F1 per event type and system", x_axis(x0, x1, top, bottom, "F1 (out-of-fold)"),
                    groups)


def pr_chart(name: str, series: Sequence[PrSeries]) -> LineChart:
    """One small precision–recall chart for one event type; ``series`` in colour order."""
    x0, x1, y0, y1 = 44, PR_W - 12, PR_H - 40, 10

    def sx(recall: float) -> float:
        return x0 + (x1 - x0) * recall

    def sy(precision: float) -> float:
        return y0 - (y0 - y1) * precision

    grid = [GridStep(Segment(sx(v), y1, sx(v), y0), Segment(x0, sy(v), x1, sy(v)),
                     Text(sx(v), y0 + 14, f"{v:.1f}", "tick", "middle"),
                     Text(x0 - 6, sy(v) + 4, f"{v:.1f}", "tick", "end"))
            for v in (0.0, 0.5, 1.0)]
    axis_labels = [Text((x0 + x1) / 2, y0 + 32, "recall", "axis-label", "middle"),
                   Text(12, (y0 + y1) / 2, "precision", "axis-label", "middle", rotate=-90)]
    curves, legend = [], []
    for i, s in enumerate(series):
        recall = s.recall if isinstance(s.recall, list) else []
        precision = s.precision if isinstance(s.precision, list) else []
        points = [Point(sx(r), sy(p)) for r, p in zip(recall, precision, strict=False) if is_num(r) and is_num(p)]
        auc = f"{s.label}: PR-AUC {fmt(s.auc, 2)}"
        if points:
            curves.append(Curve(points, color(i), auc))
        legend.append(LegendEntry(auc if points else f"{s.label}: no curve", color(i)))
    empty = None if curves else Text((x0 + x1) / 2, (y0 + y1) / 2, NA, "axis-label", "middle")
    title = f"{name}: precision vs recall; " + "; ".join(e.label for e in legend)
    return LineChart(name, PR_W, PR_H, title, Box(x0, y1, x1 - x0, y0 - y1), grid, axis_labels, curves, empty, legend)


def fold_strip(series: Sequence[FoldSeries]) -> StripChart:
    """Strip plot: one row per system, a dot per fold's macro-F1, a band for mean ± std."""
    left, right, top, row_h, width = 240, 110, 8, 36, 800
    x0, x1 = left, width - right

    def sx(value: float) -> float:
        return x0 + (x1 - x0) * value

    bottom = top + max(len(series), 1) * row_h
    rows = []
    for i, s in enumerate(series):
        cy = top + i * row_h + row_h / 2
        band = mean = None
        if is_num(s.mean):
            std = s.std if is_num(s.std) else 0.0
            lo, hi = max(s.mean - std, 0.0), min(s.mean + std, 1.0)
            band = Box(sx(lo), cy - 11, sx(hi) - sx(lo), 22.0)
            mean = Segment(sx(s.mean), cy - 13, sx(s.mean), cy + 13)
        dots = []
        for j, (fold, f1, n) in enumerate(s.folds):
            if is_num(f1):
                jitter = (j - (len(s.folds) - 1) / 2) * 3.5  # px; keeps folds with equal scores apart
                size = NA if n is None else n
                dots.append(Dot(sx(f1), cy + jitter, 5.0, f"{s.label} · fold {fold} (n={size}): macro-F1 {fmt(f1)}"))
        spread = NA if s.mean is None else f"{fmt(s.mean)} ± {fmt(s.std)}"
        rows.append(StripRow(Text(left - 10, cy + 4, s.label, "cat", "end"), Text(x1 + 10, cy + 4, spread, "value"),
                             color(i), band, mean, dots))
    return StripChart(width, bottom + 36, "Macro-F1 per fold and system (dots), mean ± std (band)",
                      x_axis(x0, x1, top, bottom, "macro-F1 per fold"), rows)


def heatmap(labels: Sequence[str], matrix: Sequence[Any]) -> HeatMap:
    """Gold type (rows) × predicted type (cols) counts; missing cells show "n/a" on the palest shade."""
    left, top, n = 110, 44, len(labels)
    rows_in = [row if isinstance(row, list) else [] for row in matrix]
    peak = max((c for row in rows_in for c in row if is_num(c)), default=0) or 1
    columns = [Text(left + j * CELL + CELL / 2, top - 8, lab, "cat", "middle") for j, lab in enumerate(labels)]
    rows = []
    for i, gold in enumerate(labels):
        row = rows_in[i] if i < len(rows_in) else []
        cells = []
        for j, pred in enumerate(labels):
            count = row[j] if j < len(row) and is_num(row[j]) else None
            share = (max(count, 0) / peak) ** 0.5 if count is not None else 0.0  # sqrt: small counts stay visible
            shown = NA if count is None else str(count)
            x, y = left + j * CELL, top + i * CELL
            label = Text(x + CELL / 2 - 1, y + CELL / 2 + 4, shown, "cell dark" if share > 0.7 else "cell", "middle")
            cells.append(HeatCell(Box(x, y, CELL - 2, CELL - 2), 0.04 + 0.92 * share,
                                  f"gold {gold}, predicted {pred}: {shown}", label, i == j))
        rows.append(HeatRow(Text(left - 8, top + i * CELL + CELL / 2 + 4, gold, "cat", "end"), cells))
    axis_labels = [Text(left + n * CELL / 2, 14, "predicted →", "axis-label", "middle"),
                   Text(left - 8, top - 8, "gold ↓", "axis-label", "end")]
    return HeatMap(left + n * CELL + 10, top + n * CELL + 10, "Gold vs predicted type counts for the model",
                   axis_labels, columns, rows)


@dataclass(frozen=True)
class CurveSeries:
    """One line of the learning curve: macro-F1 (None where a source is missing) per point."""

    label: str
    f1: Sequence[float | None]


def learning_chart(sentences: Sequence[int], series: Sequence[CurveSeries]) -> LineChart:
    """Macro-F1 against real training sentences, one line per series; the y axis starts at the
    tenth below the lowest value, so differences of a few points stay visible."""
    x0, x1, y0, y1 = 52, CURVE_W - 16, CURVE_H - 44, 10
    values = [v for s in series for v in s.f1 if is_num(v)]
    low = min(0.5, math.floor(10 * min(values)) / 10) if values else 0.0
    top_x = max(sentences) if sentences else 1

    def sx(n: float) -> float:
        return x0 + (x1 - x0) * n / top_x

    def sy(f1: float) -> float:
        return y0 - (y0 - y1) * (f1 - low) / (1.0 - low)

    steps = [(top_x * i / 4, low + (1.0 - low) * i / 4) for i in range(5)]
    grid = [GridStep(Segment(sx(n), y1, sx(n), y0), Segment(x0, sy(v), x1, sy(v)),
                     Text(sx(n), y0 + 14, f"{n:.0f}", "tick", "middle"),
                     Text(x0 - 6, sy(v) + 4, f"{v:.2f}", "tick", "end"))
            for n, v in steps]
    axis_labels = [Text((x0 + x1) / 2, y0 + 34, "real training sentences per fold model", "axis-label", "middle"),
                   Text(12, (y0 + y1) / 2, "macro-F1", "axis-label", "middle", rotate=-90)]
    curves, legend = [], []
    for i, s in enumerate(series):
        points = [Point(sx(n), sy(v)) for n, v in zip(sentences, s.f1, strict=True) if is_num(v)]
        last = next((v for v in reversed(s.f1) if is_num(v)), None)
        label = f"{s.label}: {fmt(last)} at 100%"
        if points:
            curves.append(Curve(points, color(i), label))
        legend.append(LegendEntry(label, color(i)))
    empty = None if curves else Text((x0 + x1) / 2, (y0 + y1) / 2, NA, "axis-label", "middle")
    return LineChart("learning curve", CURVE_W, CURVE_H, "Out-of-fold macro-F1 against real training sentences",
                     Box(x0, y1, x1 - x0, y0 - y1), grid, axis_labels, curves, empty, legend)
