"""The History page's charts: geometry computed here from the summary, drawn as inline SVG by
the templates. The numbers are the summary's own (server/domain/summary.py), so a patient sees
what their psychiatrist sees: mean mood per local day, its 7-day average, infusion days, PHQ-9.
"""

from __future__ import annotations

from datetime import date

import msgspec

from server.domain.instruments import PHQ9
from server.domain.summary import Summary

WIDTH, HEIGHT = 340, 180
LEFT, RIGHT, TOP, BOTTOM = 30, 10, 14, 28
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
BAND_LABELS = {band.id: band.label for band in PHQ9.bands}


class Point(msgspec.Struct, frozen=True):
    x: float
    y: float
    label: str  # what a screen reader (or the point's tooltip) says about it


class Tick(msgspec.Struct, frozen=True):
    at: float
    label: str


class MoodChart(msgspec.Struct, frozen=True, kw_only=True):
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: float = LEFT
    plot_right: float = LEFT + PLOT_W
    plot_top: float = TOP
    plot_bottom: float = TOP + PLOT_H
    points: list[Point]
    line: str  # SVG path through the daily means
    average: str  # SVG path of the 7-day average
    infusions: list[Point]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    summary: str
    rows: list[tuple[str, str, str, bool]]  # day, mean mood, 7-day average, infusion


class Phq9Chart(msgspec.Struct, frozen=True, kw_only=True):
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: float = LEFT
    plot_right: float = LEFT + PLOT_W
    points: list[Point]
    line: str
    band_lines: list[Tick]
    y_ticks: list[Tick]
    summary: str
    change: str | None  # since baseline, in words
    rows: list[tuple[str, int, str]]  # day, total, band


def mood_chart(summary: Summary) -> MoodChart:
    first, last = summary.first, summary.last
    span = max((last - first).days, 1)

    def x(day: date) -> float:
        return round(LEFT + (day - first).days / span * PLOT_W, 1)

    def y(mood: float) -> float:
        return round(TOP + (10 - mood) / 10 * PLOT_H, 1)

    logged = [d for d in summary.mood if d.mood is not None]
    points = [
        Point(x(d.day), y(d.mood), f"{_day(d.day)}: mood {_num(d.mood)}")
        for d in logged
        if d.mood is not None
    ]
    average = [(x(d.day), y(d.average_7d)) for d in summary.mood if d.average_7d is not None]
    infusion_days = sorted({m.day for m in summary.infusions if m.given})
    mean = sum(d.mood for d in logged if d.mood is not None) / len(logged) if logged else None
    count = len(infusion_days)
    text = (
        f"Mood logged on {len(logged)} of {len(summary.mood)} days"
        + (f", average {_num(mean)} out of 10" if mean is not None else "")
        + f"; {count} infusion{'' if count == 1 else 's'} in this time."
    )
    middle = summary.mood[len(summary.mood) // 2].day if summary.mood else first
    return MoodChart(
        points=points,
        line=_path([(p.x, p.y) for p in points]),
        average=_path(average),
        infusions=[Point(x(d), TOP, f"Infusion on {_day(d)}") for d in infusion_days],
        x_ticks=[Tick(x(d), _day(d)) for d in (first, middle, last)],
        y_ticks=[Tick(y(v), str(v)) for v in (0, 5, 10)],
        summary=text,
        rows=[
            (
                _day(d.day),
                _num(d.mood) if d.mood is not None else "",
                _num(d.average_7d) if d.average_7d is not None else "",
                d.day in infusion_days,
            )
            for d in reversed(summary.mood)
            if d.mood is not None or d.day in infusion_days
        ],
    )


def phq9_chart(summary: Summary) -> Phq9Chart:
    part = summary.phq9
    series = part.series
    top = PHQ9.max_total

    def x(i: int) -> float:
        return round(LEFT + (i / (len(series) - 1) if len(series) > 1 else 0.5) * PLOT_W, 1)

    def y(total: float) -> float:
        return round(TOP + (top - total) / top * PLOT_H, 1)

    points = [
        Point(x(i), y(s.total), f"{_day(s.day)}: {s.total}, {BAND_LABELS.get(s.band, s.band)}")
        for i, s in enumerate(series)
    ]
    if part.latest is not None and part.latest_day is not None:
        text = (
            f"{len(series)} PHQ-9 result{'' if len(series) == 1 else 's'} in this time; latest "
            f"{part.latest} ({BAND_LABELS.get(part.latest_band or '', part.latest_band)}) "
            f"on {_day(part.latest_day)}."
        )
    else:
        text = "No PHQ-9 answered yet."
    change = None
    if part.change_pct is not None and part.baseline is not None and part.baseline_day:
        direction = "lower" if part.change_pct < 0 else "higher"
        change = (
            f"{_num(abs(part.change_pct))}% {direction} than before your first infusion "
            f"({part.baseline} on {_day(part.baseline_day)}). Lower is better."
        )
    return Phq9Chart(
        points=points,
        line=_path([(p.x, p.y) for p in points]),
        band_lines=[Tick(y(b.min), str(b.min)) for b in PHQ9.bands[1:]],
        y_ticks=[Tick(y(v), str(v)) for v in (0, 10, 20, top)],
        summary=text,
        change=change,
        rows=[(_day(s.day), s.total, BAND_LABELS.get(s.band, s.band)) for s in reversed(series)],
    )


def _path(coords: list[tuple[float, float]]) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{cx} {cy}" for i, (cx, cy) in enumerate(coords))


def _day(day: date) -> str:
    return f"{day:%b} {day.day}"


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")
