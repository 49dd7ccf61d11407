"""A chart as data, and its one renderer (server/pwa/charts.py makes the Plots).

A Plot is msgspec Structs of geometry in SVG user units (ticks, reference lines, infusion
markers, series and their points) on a layout for a phone (PHONE) or for a printed page (PAGE).
``svg()`` draws it. Every text is escaped; there is no inline style (the CSP forbids it): classes
are styled by static/css/app.css and static/css/clinician.css. Lines differ by dash pattern as
well as colour, so the clinician's page prints in black and white.

Every chart is a named image: role="img", labelled by its <title> and by a <desc> that says in
words what it shows, for screen readers and for anyone who cannot read the picture. Ids are
``{name}-title`` and ``{name}-desc``, so a page must not reuse a chart's name for another id.
"""

from __future__ import annotations

from html import escape

import msgspec
from markupsafe import Markup


class Layout(msgspec.Struct, frozen=True, kw_only=True):
    width: int
    height: int
    left: int
    right: int  # the margin on the right holds reference lines' labels
    top: int
    bottom: int
    x_ticks: int  # intervals on the day axis
    dot: float  # the radius of a day's point

    @property
    def plot_right(self) -> int:
        return self.width - self.right

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom


PHONE = Layout(width=340, height=180, left=30, right=10, top=14, bottom=28, x_ticks=2, dot=3)
PAGE = Layout(width=720, height=190, left=36, right=96, top=14, bottom=30, x_ticks=6, dot=2.5)


class Tick(msgspec.Struct, frozen=True):
    at: float
    label: str


class Dot(msgspec.Struct, frozen=True):
    x: float
    y: float
    label: str  # its tooltip, and what a screen reader says about it


class Series(msgspec.Struct, frozen=True):
    css: str  # the path's class; its points are "point {css}-dot"
    d: str  # the SVG path; a day without data is not bridged
    dots: list[Dot]
    r: float


class Rule(msgspec.Struct, frozen=True):
    """A horizontal reference line across the plot, labelled in the right margin."""

    css: str
    y: float
    label: str


class Marker(msgspec.Struct, frozen=True):
    """An infusion: a dotted vertical line with a triangle on top."""

    x: float
    label: str


class Plot(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # the svg's class is "chart chart-{name}"
    title: str
    desc: str
    layout: Layout
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    rules: list[Rule] = []
    infusions: list[Marker] = []
    series: list[Series]


def svg(plot: Plot) -> Markup:
    lay, name = plot.layout, plot.name
    left, right, top, bottom = lay.left, lay.plot_right, lay.top, lay.plot_bottom
    parts = [
        f'<svg class="chart chart-{name}" viewBox="0 0 {lay.width} {lay.height}" role="img" '
        f'aria-labelledby="{name}-title {name}-desc" focusable="false" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{name}-title">{escape(plot.title)}</title>',
        f'<desc id="{name}-desc">{escape(plot.desc)}</desc>',
        '<g class="axis" aria-hidden="true">',
    ]
    for t in plot.y_ticks:
        parts.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{t.at}" y2="{t.at}"/>')
        parts.append(
            f'<text class="tick" x="{left - 6}" y="{_c(t.at + 4)}" text-anchor="end">'
            f"{escape(t.label)}</text>"
        )
    for i, t in enumerate(plot.x_ticks):
        anchor = "start" if i == 0 else "end" if i == len(plot.x_ticks) - 1 else "middle"
        parts.append(
            f'<line class="tick" x1="{t.at}" x2="{t.at}" y1="{bottom}" y2="{bottom + 4}"/>'
        )
        parts.append(
            f'<text class="tick" x="{t.at}" y="{bottom + 18}" text-anchor="{anchor}">'
            f"{escape(t.label)}</text>"
        )
    parts.append("</g>")
    for rule in plot.rules:
        parts.append(
            f'<line class="{rule.css}" x1="{left}" x2="{right}" y1="{rule.y}" y2="{rule.y}"/>'
            f'<text class="line-label" x="{right + 4}" y="{_c(rule.y + 4)}">'
            f"{escape(rule.label)}</text>"
        )
    if plot.infusions:
        parts.append('<g class="infusions">')
        for m in plot.infusions:
            mark = f"M{_c(m.x - 4.5)} {top - 7} L{_c(m.x + 4.5)} {top - 7} L{m.x} {top} Z"
            parts.append(
                f'<g class="infusion-marker"><title>{escape(m.label)}</title>'
                f'<line class="infusion" x1="{m.x}" x2="{m.x}" y1="{top}" y2="{bottom}"/>'
                f'<path class="infusion-mark" d="{mark}"/></g>'
            )
        parts.append("</g>")
    for s in plot.series:
        if s.d:
            parts.append(f'<path class="series {s.css}" d="{s.d}"/>')
    for s in plot.series:
        for dot in s.dots:
            parts.append(
                f'<circle class="point {s.css}-dot" cx="{dot.x}" cy="{dot.y}" r="{s.r}">'
                f"<title>{escape(dot.label)}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above is escaped)


def _c(value: float) -> str:
    """A coordinate computed from rounded ones, without float noise."""
    return f"{round(value, 1):g}"
