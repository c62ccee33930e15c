"""Geometry of the score charts, computed in Python so templates/charts.html draws plain SVG.

No chart library and no script: the CSP allows neither inline code nor a CDN, and a chart drawn
on the server prints the same as it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vendortrack.scores.rules import STANDING_FLOORS

SCORE_TICKS = (0, 25, 50, 75, 100)


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return min(max(value, low), high)


@dataclass(frozen=True)
class Band:
    """A confidence band on a track 100 units wide: where it starts, how wide, where the estimate sits."""

    x: float
    width: float
    mark: float


def band(low: float, high: float, value: float) -> Band:
    """From fractions of 1 to track units; a band too narrow to see keeps a sliver of width."""
    low, high = _clamp(low), _clamp(high)
    return Band(x=100 * low, width=max(100 * (high - low), 0.8), mark=100 * _clamp(value))


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    points: str  # "x,y x,y ..." for <polyline points>
    last_x: float
    last_y: float


def sparkline(
    scores: Sequence[float | None], width: int = 100, height: int = 28, pad: float = 3
) -> Sparkline:
    """Scores 0-100 on a fixed scale, so two vendors' lines can be compared by eye.

    A None (a month before anything counted) keeps its place along the time axis but is not drawn.
    """
    step = (width - 2 * pad) / max(len(scores) - 1, 1)
    coords = [
        (pad + i * step, height - pad - _clamp(s, 0, 100) / 100 * (height - 2 * pad))
        for i, s in enumerate(scores)
        if s is not None
    ]
    last = coords[-1] if coords else (pad, height / 2)
    return Sparkline(width, height, " ".join(f"{x:.1f},{y:.1f}" for x, y in coords), *last)


@dataclass(frozen=True)
class Tick:
    at: float  # the coordinate along its axis
    label: str


@dataclass(frozen=True)
class TrendPoint:
    x: float
    y: float
    score: float
    standing: str
    label: str


@dataclass(frozen=True)
class Threshold:
    y: float
    score: int
    standing: str


@dataclass(frozen=True)
class TrendChart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    points: list[TrendPoint]
    path: str
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    thresholds: list[Threshold]


def trend_chart(
    points: Sequence[tuple[float | None, str | None, str]],
    width: int = 640,
    height: int = 240,
    margin: tuple[int, int, int, int] = (12, 84, 34, 40),
) -> TrendChart:
    """A line chart of (score, standing, date label) points on 0-100, with the standing floors.

    A point without a score (before anything counted) keeps its date on the axis but is not drawn.
    """
    top, right_margin, bottom_margin, left = margin
    right, bottom = width - right_margin, height - bottom_margin

    def y_of(score: float) -> float:
        return bottom - _clamp(score, 0, 100) / 100 * (bottom - top)

    step = (right - left) / max(len(points) - 1, 1)
    plotted = [
        TrendPoint(left + i * step, y_of(score), score, standing, label)
        for i, (score, standing, label) in enumerate(points)
        if score is not None
    ]
    # Every other date along the axis: twelve labels side by side would overlap on a phone.
    x_ticks = [
        Tick(left + i * step, label)
        for i, (_, _, label) in enumerate(points)
        if (len(points) - 1 - i) % 2 == 0
    ]
    return TrendChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        points=plotted,
        path=" ".join(f"{p.x:.1f},{p.y:.1f}" for p in plotted),
        y_ticks=[Tick(y_of(t), str(t)) for t in SCORE_TICKS],
        x_ticks=x_ticks,
        thresholds=[Threshold(y_of(floor), floor, standing.value) for floor, standing in STANDING_FLOORS],
    )


@dataclass(frozen=True)
class Bar:
    key: str
    count: int
    label_y: float
    bar_y: float
    width: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bar_height: int
    track: float  # the width the longest bar takes
    bars: list[Bar]


def bar_chart(counts: dict[str, int], width: int = 420, row: int = 40, bar_height: int = 14) -> BarChart:
    """Horizontal bars, largest first, each under its label; the longest fills the track."""
    track = width - 40  # room for the count after the longest bar
    most = max(counts.values(), default=0) or 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    bars = [
        Bar(key, count, label_y=i * row + 13, bar_y=i * row + 19, width=max(track * count / most, 2))
        for i, (key, count) in enumerate(ordered)
    ]
    return BarChart(width, max(len(bars) * row, row), bar_height, track, bars)
