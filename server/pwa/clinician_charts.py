"""The clinician summary's charts as SVG, drawn on the server from the summary (no script).

Pure: a Summary in, SVG markup out. Styling comes from classes in static/css/clinician.css
(no inline style under the CSP); lines differ by dash pattern as well as colour, so the page
prints in black and white. Each chart has a <title> and a <desc> that says what it shows in
words, for screen readers and for anyone who cannot read the picture.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from html import escape

from markupsafe import Markup

from server.domain.summary import ScorePoint, Summary

WIDTH, HEIGHT = 720, 230
LEFT, RIGHT, TOP, BOTTOM = 36, 96, 14, 30
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
PHQ9_MAX = 27


def _fmt(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _day(day: date, long_range: bool) -> str:
    return f"{day:%b %Y}" if long_range else f"{day:%b} {day.day}"


class _Axes:
    def __init__(self, first: date, last: date, top: float) -> None:
        self.first, self.last, self.top = first, last, top
        self.span = max((last - first).days, 1)
        self.long = self.span > 180

    def x(self, day: date) -> float:
        return round(LEFT + (day - self.first).days / self.span * PLOT_W, 1)

    def y(self, value: float) -> float:
        return round(TOP + (self.top - value) / self.top * PLOT_H, 1)

    def x_ticks(self, count: int = 6) -> list[date]:
        count = min(count, self.span)
        return [self.first + timedelta(days=round(i * self.span / count)) for i in range(count + 1)]


def _open(title: str, desc: str, name: str) -> list[str]:
    return [
        f'<svg class="chart chart-{name}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{name}-title {name}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{name}-title">{escape(title)}</title>',
        f'<desc id="{name}-desc">{escape(desc)}</desc>',
    ]


def _frame(axes: _Axes, y_ticks: Iterable[float]) -> list[str]:
    parts = ['<g class="axis" aria-hidden="true">']
    for value in y_ticks:
        y = axes.y(value)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{y}" y2="{y}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4}" text-anchor="end">')
        parts.append(f"{_fmt(value)}</text>")
    bottom = TOP + PLOT_H
    for day in axes.x_ticks():
        x = axes.x(day)
        parts.append(f'<line class="tick" x1="{x}" x2="{x}" y1="{bottom}" y2="{bottom + 4}"/>')
        parts.append(f'<text class="tick" x="{x}" y="{bottom + 18}" text-anchor="middle">')
        parts.append(f"{escape(_day(day, axes.long))}</text>")
    parts.append("</g>")
    return parts


def _path(points: Sequence[tuple[float, float] | None]) -> str:
    """A path through the points; None breaks the line (a day without data is not bridged)."""
    out, pen_down = [], False
    for point in points:
        if point is None:
            pen_down = False
            continue
        out.append(f"{'L' if pen_down else 'M'}{point[0]} {point[1]}")
        pen_down = True
    return " ".join(out)


def _infusion_marks(axes: _Axes, days: Sequence[date]) -> list[str]:
    parts = ['<g class="infusions">']
    for day in days:
        x = axes.x(day)
        parts.append(
            f'<line class="infusion" x1="{x}" x2="{x}" y1="{TOP}" y2="{TOP + PLOT_H}">'
            f"<title>Infusion on {escape(_day(day, False))} {day.year}</title></line>"
        )
        mark = f"M{x - 4} {TOP - 2} L{x + 4} {TOP - 2} L{x} {TOP + 5} Z"
        parts.append(f'<path class="infusion-mark" d="{mark}"/>')
    parts.append("</g>")
    return parts


def mood_chart(summary: Summary) -> Markup:
    axes = _Axes(summary.first, summary.last, 10)
    days = summary.mood
    logged = [d.mood for d in days if d.mood is not None]
    infusion_days = sorted({m.day for m in summary.infusions if m.given})
    averages = [d.average_7d for d in days if d.average_7d is not None]
    desc = (
        f"Daily mean mood (0 worst, 10 best) from {summary.first} to {summary.last}: logged on "
        f"{len(logged)} of {len(days)} days"
        + (f", ranging {_fmt(min(logged))} to {_fmt(max(logged))}" if logged else "")
        + (f"; the 7-day average ends at {_fmt(averages[-1])}" if averages else "")
        + f". {len(infusion_days)} infusion"
        + ("" if len(infusion_days) == 1 else "s")
        + (" on " + ", ".join(str(d) for d in infusion_days) if infusion_days else "")
        + "."
    )
    parts = _open("Mood by day with 7-day average and infusions", desc, "mood")
    parts += _frame(axes, (0, 5, 10))
    parts += _infusion_marks(axes, infusion_days)
    daily = _path([(axes.x(d.day), axes.y(d.mood)) if d.mood is not None else None for d in days])
    average = _path(
        [(axes.x(d.day), axes.y(d.average_7d)) if d.average_7d is not None else None for d in days]
    )
    parts.append(f'<path class="series mood-line" d="{daily}"/>')
    parts.append(f'<path class="series average-line" d="{average}"/>')
    if len(days) <= 120:  # dots stay readable up to about four months
        for d in days:
            if d.mood is not None:
                parts.append(
                    f'<circle class="mood-dot" cx="{axes.x(d.day)}" cy="{axes.y(d.mood)}" r="2.5">'
                    f"<title>{d.day}: mood {_fmt(d.mood)}</title></circle>"
                )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above is escaped)


def _score_series(axes: _Axes, series: Sequence[ScorePoint], css: str, name: str) -> list[str]:
    line = _path([(axes.x(p.day), axes.y(p.total)) for p in series])
    parts = [f'<path class="series {css}" d="{line}"/>']
    for p in series:
        parts.append(
            f'<circle class="{css}-dot" cx="{axes.x(p.day)}" cy="{axes.y(p.total)}" r="3">'
            f"<title>{name} {p.total} on {p.day}</title></circle>"
        )
    return parts


def scores_chart(summary: Summary) -> Markup:
    axes = _Axes(summary.first, summary.last, PHQ9_MAX)
    phq9, gad7 = summary.phq9, summary.gad7
    lines: list[tuple[str, float, str]] = []
    if phq9.baseline is not None:
        lines.append(("baseline-line", phq9.baseline, f"baseline {phq9.baseline}"))
        lines.append(("response-line", phq9.baseline / 2, f"50%: {_fmt(phq9.baseline / 2)}"))
    lines.append(("remission-line", 5, "remission < 5"))
    desc = (
        f"PHQ-9 ({len(phq9.series)} results) and GAD-7 ({len(gad7.series)} results) from "
        f"{summary.first} to {summary.last}. "
        + (
            f"PHQ-9 baseline {phq9.baseline} on {phq9.baseline_day}; "
            if phq9.baseline is not None
            else (phq9.baseline_note or "") + " "
        )
        + (
            f"latest {phq9.latest} on {phq9.latest_day}"
            + (f" ({_fmt(phq9.change_pct)}% from baseline)" if phq9.change_pct is not None else "")
            + ". "
            if phq9.latest is not None
            else "No PHQ-9 yet. "
        )
        + "Lines mark the baseline, half the baseline (response) and 5 (remission below it)."
    )
    title = "PHQ-9 and GAD-7 scores with baseline, response and remission lines"
    parts = _open(title, desc, "scores")
    parts += _frame(axes, (0, 5, 10, 15, 20, 27))
    for css, value, label in lines:
        y = axes.y(value)
        parts.append(
            f'<line class="{css}" x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{y}" y2="{y}"/>'
            f'<text class="line-label" x="{LEFT + PLOT_W + 4}" y="{y + 4}">{escape(label)}</text>'
        )
    parts += _score_series(axes, gad7.series, "gad7-line", "GAD-7")
    parts += _score_series(axes, phq9.series, "phq9-line", "PHQ-9")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above is escaped)
