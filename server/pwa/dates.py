"""Days and times on the server-rendered pages, in the reader's language (the request's,
:func:`server.i18n.current`): English as the pages always wrote them ("Mar 5, 2026 09:00"),
other languages in their own CLDR order and month names (babel: "5 mar 2026, 09:00")."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_skeleton

from server.i18n import current


def moment(at: datetime, zone: ZoneInfo) -> str:
    """A moment in ``zone``, with its year: "Mar 5, 2026 09:00"."""
    local = at.astimezone(zone)
    language = current()
    if language != "en":
        return format_datetime(local, "d MMM y, HH:mm", locale=language)
    return f"{local:%b} {local.day}, {local.year} {local:%H:%M}"


def day(value: date) -> str:
    """A day with its year: "Mar 5, 2026"."""
    language = current()
    if language != "en":
        return format_skeleton("yMMMd", value, locale=language)
    return f"{value:%b} {value.day}, {value.year}"


def short_day(value: date, year: int) -> str:
    """A day in a table: the year only when it is not ``year`` (the range's)."""
    language = current()
    if language != "en":
        return format_skeleton("MMMd" if value.year == year else "yMMMd", value, locale=language)
    return f"{value:%b} {value.day}" + ("" if value.year == year else f", {value.year}")
