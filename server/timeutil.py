"""The one time helper: aware UTC datetimes everywhere, local days only at the edges."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utc_now() -> datetime:
    return datetime.now(UTC)


def local_day(moment: datetime, zone: ZoneInfo | str) -> date:
    """The calendar day ``moment`` falls on for someone living in ``zone``."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return moment.astimezone(tz).date()
