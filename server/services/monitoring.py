"""What a write to a patient's log found: the monitoring rules that concern the entry just
written (server/domain/monitoring.py), run in the write's transaction so that whatever a finding
raises commits with it (issue 13: rules about a patient's own data run when it is written;
time-based ones, like PHQ-9 overdue, run in the worker's pass).

The cost, on top of the write: a check-in with a mood above ``LOW_MOOD`` and no severe side
effect (the common case) reads nothing and stays one statement (``LogKind.watched``). A low mood
reads the daily means of the 5 weeks before its day and the week after (one grouped index
range); a severe side effect reads the check-ins of the days around it and the last two given
infusions (two short probes). A PHQ-9 reads the first given infusion and the PHQ-9s since the
30 days before it (about one row a week of treatment).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any, cast, get_args
from zoneinfo import ZoneInfo

from server.db import Connection
from server.domain import monitoring
from server.domain.accounts import Access
from server.domain.alerts import AlertKind, Raised
from server.domain.flags import MOOD_LOOK_BACK, Flag, item9_flag
from server.domain.logbook import ASSESSMENTS, CHECKINS, LogKind
from server.domain.records import Assessment, CheckIn
from server.store import entries
from server.store import monitoring as store
from server.timeutil import local_day

ONE_DAY = timedelta(days=1)
_WEEK_AFTER = timedelta(days=monitoring.WEEK - 1)  # the weeks a check-in's day is part of


async def findings_after_write(
    conn: Connection,
    access: Access,
    kind: LogKind,
    record: Any,
    now: datetime,
    zone: ZoneInfo,
) -> list[Flag]:
    """What the rules find because ``record`` (of ``kind``) was just stored: item 9 above 0,
    relapse, mood drop, a severe side effect that persists, each as the flag the patient's
    summary shows (same kind, day and detail). Finding one again is harmless: an alert is one
    per patient, kind and day. ``zone``: the patient's, for today's local day."""
    rules = _RULES.get(kind.name)
    if rules is None or not kind.watched(record):
        return []
    return await rules(conn, access, record, now, local_day(now, zone))


async def _after_phq9(
    conn: Connection, access: Access, a: Assessment, now: datetime, today: date
) -> list[Flag]:
    found = [flag for flag in (item9_flag(a),) if flag is not None]
    first = await store.first_given_infusion(conn, access, now)
    if first is None:
        return found  # no relapse before any treatment
    phq9s = await store.phq9s_since(conn, access, first.scheduled_at - monitoring.BASELINE_WINDOW)
    found += [
        Flag("relapse", f.day, f.detail, f.said)
        for f in monitoring.relapses(phq9s, first.scheduled_at)
        if f.day >= a.local_day
    ]
    return found


async def _after_checkin(
    conn: Connection, access: Access, c: CheckIn, now: datetime, today: date
) -> list[Flag]:
    found: list[Flag] = []
    day = c.local_day
    if c.mood <= monitoring.LOW_MOOD:
        last = min(day + _WEEK_AFTER, today)
        moods = await store.daily_moods(conn, access, day - MOOD_LOOK_BACK, last)
        drops = monitoring.mood_drops(moods, day, last)
        found += [Flag("mood_drop", f.day, f.detail, f.said) for f in drops]
    if any(e.severity >= monitoring.SEVERE for e in c.side_effects):
        around = await entries.in_range(conn, CHECKINS, access, day - ONE_DAY, day + ONE_DAY)
        infusion_days = await store.given_infusion_days(conn, access, now, day + ONE_DAY, 2)
        found += [
            Flag("persisting_severe_effect", f.day, f.detail, f.said)
            for f in monitoring.persisting_severe_effects(
                [(other.local_day, other.side_effects) for other in around], infusion_days
            )
            if f.day >= day
        ]
    return found


def warning_signs(found: list[Flag]) -> list[Raised]:
    """The findings that need a person, as the alerts they raise (server/services/alerts.py)."""
    kinds = get_args(AlertKind)
    return [
        Raised(cast(AlertKind, f.kind), f.day, f.detail, f.said) for f in found if f.kind in kinds
    ]


_Rules = Callable[[Connection, Access, Any, datetime, date], Awaitable[list[Flag]]]
_RULES: dict[str, _Rules] = {ASSESSMENTS.name: _after_phq9, CHECKINS.name: _after_checkin}
