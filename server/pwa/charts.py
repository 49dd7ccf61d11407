"""Every chart in the app, the patient's History and the clinician's summary, drawn one way.

Two pure steps:

1. Summary -> Plot: msgspec Structs of geometry in SVG user units (ticks, reference lines,
   infusion markers, series and their points) on a layout for a phone (PHONE) or for a printed
   page (PAGE). The numbers are the summary's own (server/domain/summary.py), so a patient sees
   what their psychiatrist sees: mean mood per local day, its 7-day average, infusion days, and
   PHQ-9 (with GAD-7 for the clinician) by day.
2. Plot -> SVG: one renderer, ``svg()`` (server/pwa/plot.py, with the Plot Structs). Lines
   differ by dash pattern as well as colour, so the clinician's page prints in black and white.

Every chart is a named image: role="img", labelled by its <title> and by a <desc> that says in
words what it shows, for screen readers and for anyone who cannot read the picture. The words
are the reader's (the patient's chart speaks to them, the clinician's gives dates); the drawing
is the same. Ids are ``{name}-title`` and ``{name}-desc``, so a page must not reuse a chart's
name for another id.

A page gets a Figure: it renders as its SVG (``{{ figure }}`` in a template, ``str(figure)``)
and carries the same data as table rows, newest first, and a note, where the page shows them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import msgspec
from babel.dates import format_skeleton
from markupsafe import Markup

from server.domain.instruments import GAD7, PHQ9, Instrument, in_language
from server.domain.scores import REMISSION_BELOW, ScorePoint
from server.domain.summary import Summary
from server.i18n import current, gettext, ngettext
from server.pwa.plot import PAGE, PHONE, Dot, Layout, Marker, Plot, Rule, Series, Tick, svg

DOTS_UP_TO_DAYS = 120  # a point per day stays readable up to about four months
LONG_RANGE_DAYS = 180  # beyond this, the day axis shows months


class Figure(msgspec.Struct, frozen=True, kw_only=True):
    plot: Plot
    rows: list[tuple[str, ...]] = []  # the chart's data as a table, newest first
    note: str | None = None  # a sentence to show under the chart

    def __html__(self) -> Markup:
        return svg(self.plot)

    def __str__(self) -> str:
        return str(self.__html__())


# --- the patient's History page ----------------------------------------------------------------


def patient_mood(summary: Summary) -> Figure:
    axes = _Axes(PHONE, summary.first, summary.last, 10)
    logged = [d.mood for d in summary.mood if d.mood is not None]
    infusion_days = _infusion_days(summary)
    mean = sum(logged) / len(logged) if logged else None
    count, language = len(infusion_days), current()
    desc = (
        _("Mood logged on {logged} of {days} days").format(
            logged=len(logged), days=len(summary.mood)
        )
        + (_(", average {mean} out of 10").format(mean=_num(mean)) if mean is not None else "")
        + "; "
        + ngettext(
            language, "{count} infusion in this time.", "{count} infusions in this time.", count
        ).format(count=count)
    )
    return Figure(
        plot=_mood_plot(summary, axes, _("Daily mood chart"), desc),
        rows=[
            (
                _day(d.day, summary.last),
                _num(d.mood) if d.mood is not None else "",
                _num(d.average_7d) if d.average_7d is not None else "",
                _("yes") if d.day in infusion_days else "",
            )
            for d in reversed(summary.mood)
            if d.mood is not None or d.day in infusion_days
        ],
    )


def patient_phq9(summary: Summary) -> Figure:
    part = summary.phq9
    series = part.series
    count = len(series)
    if part.latest is not None and part.latest_day is not None:
        desc = ngettext(
            current(),
            "{count} PHQ-9 result in this time; latest {latest} ({band}) on {day}.",
            "{count} PHQ-9 results in this time; latest {latest} ({band}) on {day}.",
            count,
        ).format(
            count=count,
            latest=part.latest,
            band=_band(PHQ9, part.latest_band),
            day=_day(part.latest_day, summary.last),
        )
    else:
        desc = _("No PHQ-9 answered yet.")
    note = None
    if part.change_pct is not None and part.baseline is not None and part.baseline_day:
        lower = part.change_pct < 0
        note = (
            (
                _("{pct}% lower than before your first infusion ({baseline} on {day}).")
                if lower
                else _("{pct}% higher than before your first infusion ({baseline} on {day}).")
            ).format(
                pct=_num(abs(part.change_pct)),
                baseline=part.baseline,
                day=_day(part.baseline_day, summary.last),
            )
            + " "
            + _("Lower is better.")
        )
    axes = _Axes(PHONE, summary.first, summary.last, PHQ9.max_total)
    title = _("PHQ-9 totals over time (lower is better)")
    return Figure(
        plot=_scores_plot(summary, axes, "phq9", title, desc),
        rows=[
            (_day(s.day, summary.last), str(s.total), _band(PHQ9, s.band)) for s in reversed(series)
        ],
        note=note,
    )


# --- the clinician's summary ---------------------------------------------------------------------


def clinician_mood(summary: Summary) -> Figure:
    axes = _Axes(PAGE, summary.first, summary.last, 10)
    days = summary.mood
    logged = [d.mood for d in days if d.mood is not None]
    infusion_days = _infusion_days(summary)
    averages = [d.average_7d for d in days if d.average_7d is not None]
    language = current()
    desc = (
        _(
            "Daily mean mood (0 worst, 10 best) from {first} to {last}: logged on "
            "{logged} of {days} days"
        ).format(first=summary.first, last=summary.last, logged=len(logged), days=len(days))
        + (
            _(", ranging {low} to {high}").format(low=_num(min(logged)), high=_num(max(logged)))
            if logged
            else ""
        )
        + (
            _("; the 7-day average ends at {value}").format(value=_num(averages[-1]))
            if averages
            else ""
        )
        + ". "
        + ngettext(language, "{n} infusion", "{n} infusions", len(infusion_days)).format(
            n=len(infusion_days)
        )
        + (
            " " + _("on {days}").format(days=", ".join(str(d) for d in infusion_days))
            if infusion_days
            else ""
        )
        + "."
    )
    title = _("Mood by day with 7-day average and infusions")
    return Figure(plot=_mood_plot(summary, axes, title, desc))


def clinician_scores(summary: Summary) -> Figure:
    axes = _Axes(PAGE, summary.first, summary.last, PHQ9.max_total)
    phq9, gad7 = summary.phq9, summary.gad7
    rules: list[Rule] = []
    if phq9.baseline is not None:
        rules.append(
            Rule(
                "baseline-line",
                axes.y(phq9.baseline),
                _("baseline {value}").format(value=phq9.baseline),
            )
        )
        half = phq9.baseline / 2
        rules.append(Rule("response-line", axes.y(half), f"50%: {_num(half)}"))
    below = REMISSION_BELOW
    rules.append(
        Rule("remission-line", axes.y(below), _("remission < {value}").format(value=below))
    )
    desc = (
        _("PHQ-9 ({phq9} results) and GAD-7 ({gad7} results) from {first} to {last}.").format(
            phq9=len(phq9.series), gad7=len(gad7.series), first=summary.first, last=summary.last
        )
        + " "
        + (
            _("PHQ-9 baseline {value} on {day};").format(value=phq9.baseline, day=phq9.baseline_day)
            + " "
            if phq9.baseline is not None
            else (_(phq9.baseline_note) + " " if phq9.baseline_note else "")
        )
        + (
            _("latest {value} on {day}").format(value=phq9.latest, day=phq9.latest_day)
            + (
                " " + _("({change}% from baseline)").format(change=_num(phq9.change_pct))
                if phq9.change_pct is not None
                else ""
            )
            + ". "
            if phq9.latest is not None
            else _("No PHQ-9 yet.") + " "
        )
        + _("Lines mark the baseline, half the baseline (response) and 5 (remission below it).")
    )
    title = _("PHQ-9 and GAD-7 scores with baseline, response and remission lines")
    return Figure(plot=_scores_plot(summary, axes, "scores", title, desc, gad7=True, rules=rules))


# --- geometry shared by both pages ---------------------------------------------------------------


class _Axes:
    """Days from ``first`` to ``last`` across the plot; values from 0 (bottom) to ``top``."""

    def __init__(self, layout: Layout, first: date, last: date, top: float) -> None:
        self.layout, self.first, self.last, self.top = layout, first, last, top
        self.days = (last - first).days
        self.span = max(self.days, 1)

    def x(self, day: date) -> float:
        width = self.layout.plot_right - self.layout.left
        return round(self.layout.left + (day - self.first).days / self.span * width, 1)

    def y(self, value: float) -> float:
        height = self.layout.plot_bottom - self.layout.top
        return round(self.layout.top + (self.top - value) / self.top * height, 1)

    def x_ticks(self) -> list[Tick]:
        count = min(self.layout.x_ticks, self.days)
        days = [self.first + timedelta(days=round(i * self.days / count)) for i in range(count)]
        long_range = self.days > LONG_RANGE_DAYS
        return [Tick(self.x(d), _tick(d, long_range)) for d in [*days, self.last]]

    def y_ticks(self, values: Sequence[float]) -> list[Tick]:
        return [Tick(self.y(v), _num(v)) for v in values]


def _mood_plot(summary: Summary, axes: _Axes, title: str, desc: str) -> Plot:
    days, last = summary.mood, summary.last
    dotted = len(days) <= DOTS_UP_TO_DAYS
    daily = [(axes.x(d.day), axes.y(d.mood)) if d.mood is not None else None for d in days]
    average = [
        (axes.x(d.day), axes.y(d.average_7d)) if d.average_7d is not None else None for d in days
    ]
    return Plot(
        name="mood",
        title=title,
        desc=desc,
        layout=axes.layout,
        x_ticks=axes.x_ticks(),
        y_ticks=axes.y_ticks((0, 5, 10)),
        infusions=[
            Marker(axes.x(d), _("Infusion on {day}").format(day=_day(d, last)))
            for d in _infusion_days(summary)
        ],
        series=[
            Series(
                "mood-line",
                _path(daily),
                [
                    Dot(
                        axes.x(d.day),
                        axes.y(d.mood),
                        _("{day}: mood {value}").format(day=_day(d.day, last), value=_num(d.mood)),
                    )
                    for d in days
                    if d.mood is not None and dotted
                ],
                axes.layout.dot,
            ),
            Series("average-line", _path(average), [], axes.layout.dot),
        ],
    )


def _scores_plot(
    summary: Summary,
    axes: _Axes,
    name: str,
    title: str,
    desc: str,
    *,
    gad7: bool = False,
    rules: Sequence[Rule] = (),
) -> Plot:
    """PHQ-9 (and GAD-7, drawn under it) on the PHQ-9 scale, gridded where its bands start."""
    parts = [(GAD7, summary.gad7.series)] if gad7 else []
    parts.append((PHQ9, summary.phq9.series))
    return Plot(
        name=name,
        title=title,
        desc=desc,
        layout=axes.layout,
        x_ticks=axes.x_ticks(),
        y_ticks=axes.y_ticks(_band_starts(PHQ9)),
        rules=list(rules),
        series=[_scores(axes, i, points, summary.last) for i, points in parts],
    )


def _scores(
    axes: _Axes, instrument: Instrument, series: Sequence[ScorePoint], last: date
) -> Series:
    # A retracted result (a clinician's view only) keeps its dot, said so, but not the line.
    return Series(
        f"{instrument.id}-line",
        _path([(axes.x(p.day), axes.y(p.total)) for p in series if p.retracted_at is None]),
        [
            Dot(
                axes.x(p.day),
                axes.y(p.total),
                f"{_day(p.day, last)}: {instrument.name} {p.total}, {_band(instrument, p.band)}"
                + (" (retracted by the patient)" if p.retracted_at else ""),
            )
            for p in series
        ],
        axes.layout.dot + 0.5,
    )


def _infusion_days(summary: Summary) -> list[date]:
    return sorted({m.day for m in summary.infusions if m.given})


def _band_starts(instrument: Instrument) -> list[int]:
    return [*(b.min for b in instrument.bands), instrument.max_total]


def _band(instrument: Instrument, band: str | None) -> str:
    labels = {b.id: b.label for b in in_language(instrument, current()).bands}
    return labels.get(band or "", band or "")


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


def _day(day: date, last: date) -> str:
    """ "Mar 5", with the year when it is not the year the range ends in (in the reader's
    language: "5 mar")."""
    language = current()
    if language != "en":
        return format_skeleton("MMMd" if day.year == last.year else "yMMMd", day, locale=language)
    return f"{day:%b} {day.day}" + ("" if day.year == last.year else f", {day.year}")


def _tick(day: date, long_range: bool) -> str:
    """An x-axis label: "Mar 2025" over a long range, else "Mar 5" (in the reader's language)."""
    language = current()
    if language != "en":
        return format_skeleton("yMMM" if long_range else "MMMd", day, locale=language)
    return f"{day:%b %Y}" if long_range else f"{day:%b} {day.day}"


def _(message: str) -> str:
    """``message`` in the reader's language (this request's); ``_`` so `make messages` finds
    it."""
    return gettext(current(), message)


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")
