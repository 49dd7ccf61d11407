"""When each reminder is due, in the patient's own time zone, and what it says.

Pure: given preferences, a zone, infusions and a window of time, ``plan`` returns the reminders
(``Occurrence``) that fall in it. The store turns them into outbox rows.

Rules, each decided here once:
- Local times are wall-clock times in the patient's zone, so a daily 08:00 reminder stays at
  08:00 across daylight-saving changes. A local time that does not exist (spring forward:
  02:30 on the change day) moves forward by the length of the gap (03:30); a local time that
  happens twice (fall back: 01:30) means its first occurrence, and is sent once.
- "The day before" an infusion is the same wall-clock time on the previous local day (23 or
  25 hours across a change); "two hours before" is two elapsed hours.
- "The evening after" is 19:00 on the infusion's local day, or three hours after the session
  ends if that is later (recovery first).
- "Did you get home safely?" (issue 16) is asked at 10:00 the local day after a session the
  patient arranged a ride home for, until they answer; it follows no preference of its own
  (the patient chose the ride), only the quiet hours.
- Quiet hours (default 21:00–08:00): a reminder falling inside them moves to the end of the
  quiet hours. The two-hours-before reminder ignores them (a 07:00 session needs its 05:00
  reminder). Chosen daily and weekly times may not lie inside quiet hours at all.
- Every reminder has a moment after which it is stale and never sent: a while after it is due,
  never inside the next quiet hours, and never after the session it is about.
- Payloads never carry health information: a neutral title and body, a URL inside the app and
  a tag. "Session" stands for infusion; the ride-home advice is logistics, not health data.
- On the wire a reminder is a declarative Web Push message (``"web_push": 8030``): Safari 18.4+
  shows it without running the service worker, and the service worker reads the same fields
  elsewhere. Its navigate URL names the reminder (``r=``), so the page it opens can report
  "opened" even where no service worker saw it (server/domain/push_message.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from server.errors import InvalidField
from server.i18n import DEFAULT, N_, gettext

Kind = Literal[
    "daily_checkin",
    "weekly_phq9",
    "infusion_day_before",
    "infusion_two_hours",
    "infusion_evening_after",
    "infusion_home_safely",
]
PLANNED_KINDS: Final[tuple[Kind, ...]] = (
    "daily_checkin",
    "weekly_phq9",
    "infusion_day_before",
    "infusion_two_hours",
    "infusion_evening_after",
    "infusion_home_safely",
)
Urgency = Literal["very-low", "low", "normal", "high"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: Final[tuple[Weekday, ...]] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)

EVENING_AFTER_AT = time(19, 0)
EVENING_AFTER_MIN_GAP = timedelta(hours=3)  # after the session ends
HOME_SAFELY_AT = time(10, 0)  # the day after the session
TWO_HOURS = timedelta(hours=2)
# How long after its (possibly shifted) time a reminder may still be delivered.
STALE_AFTER: Final[dict[Kind, timedelta]] = {
    "daily_checkin": timedelta(hours=2),
    "weekly_phq9": timedelta(hours=3),
    "infusion_day_before": timedelta(hours=6),
    "infusion_two_hours": TWO_HOURS,  # capped by the session start anyway
    "infusion_evening_after": timedelta(hours=3),
    "infusion_home_safely": timedelta(hours=8),
}
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_TAG = re.compile(r"^[a-z0-9-]{1,32}$")


class PushPayload(msgspec.Struct, frozen=True):
    """What the service worker shows. No health information, ever."""

    title: str
    body: str
    url: str  # a path inside the app
    tag: str  # one notification per tag on screen; also the push Topic

    def __post_init__(self) -> None:
        if not self.url.startswith("/") or self.url.startswith("//"):
            raise ValueError("a push payload's url must be a path inside the app")
        if not _TAG.match(self.tag):
            raise ValueError("a push payload's tag must be 1-32 of a-z, 0-9 and -")


PAYLOADS: Final[dict[Kind, PushPayload]] = {
    "daily_checkin": PushPayload("Afterglow", N_("Time for your check-in"), "/?checkin", "daily"),
    "weekly_phq9": PushPayload(
        "Afterglow", N_("Your weekly questionnaire is ready"), "/?questionnaire", "weekly"
    ),
    "infusion_day_before": PushPayload(
        "Afterglow",
        N_(
            "Your session is tomorrow. Please arrange a ride home — "
            "no driving until the next day after sleep."
        ),
        "/day-before?checklist",  # who drives you home (issue 16)
        "session",
    ),
    "infusion_two_hours": PushPayload(
        "Afterglow",
        N_("Your session starts in 2 hours. Remember your ride home."),
        "/?sessions",
        "session",
    ),
    "infusion_evening_after": PushPayload(
        "Afterglow", N_("How are you feeling? A quick check-in helps."), "/?checkin", "evening"
    ),
    # "Did you get home safely?" is asked in the app (the day-before page), not in the push.
    "infusion_home_safely": PushPayload(
        "Afterglow", N_("A quick question about yesterday."), "/day-before?home", "home"
    ),
}


def in_language(payload: PushPayload, language: str = DEFAULT) -> PushPayload:
    """``payload`` as the patient reads it (users.language); the title is the app's name."""
    return msgspec.structs.replace(payload, body=gettext(language, payload.body))


URGENCY: Final[dict[Kind, Urgency]] = {
    "daily_checkin": "normal",
    "weekly_phq9": "low",
    "infusion_day_before": "normal",
    "infusion_two_hours": "high",
    "infusion_evening_after": "normal",
    "infusion_home_safely": "normal",
}


class ReminderPrefs(msgspec.Struct, frozen=True, kw_only=True):
    """A patient's choices; None switches a reminder (or the quiet hours) off."""

    daily_checkin_time: time | None = time(19, 0)
    weekly_phq9_day: int | None = 7  # ISO weekday, 1 = Monday
    weekly_phq9_time: time | None = time(18, 0)
    infusion_day_before: bool = True
    infusion_two_hours: bool = True
    infusion_evening_after: bool = True
    quiet_hours_start: time | None = time(21, 0)
    quiet_hours_end: time | None = time(8, 0)
    # Email reminders when no device can be reached (server/domain/fallback.py).
    email_reminders: bool = False
    # The moods the daily reminder's two actions save ("Good day", "Hard day"), 0-10.
    good_day_mood: int = 7
    hard_day_mood: int = 3


class InfusionSlot(msgspec.Struct, frozen=True, kw_only=True):
    """The part of an infusion reminders need."""

    id: UUID
    scheduled_at: datetime
    duration_minutes: int
    status: Literal["planned", "completed", "cancelled"]
    # The patient arranged a ride home for it (the day-before checklist, issue 16) and has not
    # yet said whether they got home safely: the day after, they are asked.
    ask_home_safely: bool = False


class Occurrence(msgspec.Struct, frozen=True, kw_only=True):
    kind: Kind
    occurrence: str  # unique per (user, kind): one reminder, at most one delivery
    due_at: datetime
    stale_at: datetime
    local_day: date | None
    payload: PushPayload
    urgency: Urgency


# --- preferences -----------------------------------------------------------------------------


def parse_time(value: str | None, field: str) -> time | None:
    if value is None:
        return None
    match = _TIME.match(value)
    if not match:
        raise InvalidField(field, "Use a time like 08:30 (24-hour clock).")
    return time(int(match.group(1)), int(match.group(2)))


def format_time(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


def check_prefs(prefs: ReminderPrefs, prefix: str = "") -> ReminderPrefs:
    """The rules between fields; ``prefix`` is prepended to field names in errors."""
    start, end = prefs.quiet_hours_start, prefs.quiet_hours_end
    if (start is None) != (end is None):
        missing = "quiet_hours_start" if start is None else "quiet_hours_end"
        raise InvalidField(prefix + missing, "Give both ends of the quiet hours, or neither.")
    if start is not None and start == end:
        raise InvalidField(prefix + "quiet_hours_end", "Quiet hours must end at another time.")
    if (prefs.weekly_phq9_day is None) != (prefs.weekly_phq9_time is None):
        missing = "weekly_phq9_day" if prefs.weekly_phq9_day is None else "weekly_phq9_time"
        raise InvalidField(prefix + missing, "Give both the day and the time, or neither.")
    for field, mood in (
        ("good_day_mood", prefs.good_day_mood),
        ("hard_day_mood", prefs.hard_day_mood),
    ):
        if not 0 <= mood <= 10:
            raise InvalidField(prefix + field, "Choose a mood from 0 to 10.")
    for field, wall in (
        ("daily_checkin_time", prefs.daily_checkin_time),
        ("weekly_phq9_time", prefs.weekly_phq9_time),
    ):
        if wall is not None and _quiet_at(wall, prefs):
            raise InvalidField(
                prefix + field,
                f"This time is inside your quiet hours ({format_time(start)}–"
                f"{format_time(end)}); choose another time or change the quiet hours.",
            )
    return prefs


_CLOCK_FIELDS = ("daily_checkin_time", "weekly_phq9_time", "quiet_hours_start", "quiet_hours_end")


def merge_prefs(base: ReminderPrefs, changes: Mapping[str, Any], prefix: str = "") -> ReminderPrefs:
    """``base`` with ``changes`` as a client sends them ("HH:MM", weekday names), checked;
    errors name ``prefix`` + field."""
    replaced: dict[str, object] = {}
    for name, value in changes.items():
        if name in _CLOCK_FIELDS:
            value = parse_time(value, prefix + name)
        elif name == "weekly_phq9_day" and value is not None:
            value = WEEKDAYS.index(value) + 1
        replaced[name] = value
    return check_prefs(msgspec.structs.replace(base, **replaced), prefix)


# --- local time ------------------------------------------------------------------------------


def at_local(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC moment of ``wall`` o'clock on ``day`` in ``zone`` (see the module's DST rule).

    fold=0 gives exactly that rule: in a gap the offset before the change applies, so the
    wall time moves forward by the gap; in an overlap the first occurrence is meant.
    """
    return datetime.combine(day, wall).replace(tzinfo=zone, fold=0).astimezone(UTC)


def _quiet_at(wall: time, prefs: ReminderPrefs) -> bool:
    start, end = prefs.quiet_hours_start, prefs.quiet_hours_end
    if start is None or end is None:
        return False
    if start < end:
        return start <= wall < end
    return wall >= start or wall < end


def _next_local(moment: datetime, wall: time, zone: ZoneInfo) -> datetime:
    """The first moment at or after ``moment`` when the clock in ``zone`` shows ``wall``."""
    local = moment.astimezone(zone)
    day = local.date()
    for offset in range(3):
        candidate = at_local(day + timedelta(days=offset), wall, zone)
        if candidate >= moment:
            return candidate
    raise AssertionError("unreachable: a wall time recurs within two days")


def outside_quiet(moment: datetime, prefs: ReminderPrefs, zone: ZoneInfo) -> datetime:
    """``moment``, or the end of the quiet hours it falls in."""
    if prefs.quiet_hours_end is None or not _quiet_at(moment.astimezone(zone).time(), prefs):
        return moment
    return _next_local(moment, prefs.quiet_hours_end, zone)


def _stale(kind: Kind, due: datetime, prefs: ReminderPrefs, zone: ZoneInfo) -> datetime:
    stale = due + STALE_AFTER[kind]
    if prefs.quiet_hours_start is not None and kind != "infusion_two_hours":
        stale = min(stale, _next_local(due, prefs.quiet_hours_start, zone))
    return stale


# --- planning --------------------------------------------------------------------------------


def plan(
    prefs: ReminderPrefs,
    zone: ZoneInfo,
    infusions: Iterable[InfusionSlot],
    start: datetime,
    until: datetime,
) -> list[Occurrence]:
    """Every reminder due before ``until`` that is not yet stale at ``start``."""
    found = [*_daily(prefs, zone, start, until), *_weekly(prefs, zone, start, until)]
    for infusion in infusions:
        found.extend(_for_infusion(infusion, prefs, zone))
    return sorted(
        (o for o in found if o.stale_at > start and o.due_at < until),
        key=lambda o: (o.due_at, o.kind),
    )


def _days(zone: ZoneInfo, start: datetime, until: datetime) -> Iterator[date]:
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = until.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        yield day
        day += timedelta(days=1)


def _occurrence(
    kind: Kind,
    key: str,
    due: datetime,
    prefs: ReminderPrefs,
    zone: ZoneInfo,
    *,
    local_day: date | None = None,
    not_after: datetime | None = None,
) -> Occurrence | None:
    if kind != "infusion_two_hours":
        due = outside_quiet(due, prefs, zone)
    stale = _stale(kind, due, prefs, zone)
    if not_after is not None:
        stale = min(stale, not_after)
    if stale <= due:
        return None
    return Occurrence(
        kind=kind,
        occurrence=key,
        due_at=due,
        stale_at=stale,
        local_day=local_day,
        payload=PAYLOADS[kind],
        urgency=URGENCY[kind],
    )


def _daily(
    prefs: ReminderPrefs, zone: ZoneInfo, start: datetime, until: datetime
) -> Iterator[Occurrence]:
    wall = prefs.daily_checkin_time
    if wall is None:
        return
    for day in _days(zone, start, until):
        found = _occurrence(
            "daily_checkin", day.isoformat(), at_local(day, wall, zone), prefs, zone, local_day=day
        )
        if found:
            yield found


def _weekly(
    prefs: ReminderPrefs, zone: ZoneInfo, start: datetime, until: datetime
) -> Iterator[Occurrence]:
    weekday, wall = prefs.weekly_phq9_day, prefs.weekly_phq9_time
    if weekday is None or wall is None:
        return
    for day in _days(zone, start, until):
        if day.isoweekday() != weekday:
            continue
        year, week, _ = day.isocalendar()
        found = _occurrence(
            "weekly_phq9", f"{year}-W{week:02d}", at_local(day, wall, zone), prefs, zone
        )
        if found:
            yield found


def _for_infusion(
    infusion: InfusionSlot, prefs: ReminderPrefs, zone: ZoneInfo
) -> Iterator[Occurrence]:
    # The key names the session time too: after a move, the new time gets fresh reminders
    # even when the old time's were already sent, and the old time's pending ones are cancelled.
    start = infusion.scheduled_at.astimezone(UTC)
    key = f"{infusion.id}@{start.strftime('%Y-%m-%dT%H:%MZ')}"
    local = start.astimezone(zone)
    if infusion.status == "planned":
        if prefs.infusion_day_before:
            due = at_local(local.date() - timedelta(days=1), local.time(), zone)
            found = _occurrence(
                "infusion_day_before", key, due, prefs, zone, not_after=start - TWO_HOURS
            )
            if found:
                yield found
        if prefs.infusion_two_hours:
            found = _occurrence(
                "infusion_two_hours", key, start - TWO_HOURS, prefs, zone, not_after=start
            )
            if found:
                yield found
    if infusion.status in ("planned", "completed") and prefs.infusion_evening_after:
        ends = start + timedelta(minutes=infusion.duration_minutes)
        due = max(at_local(local.date(), EVENING_AFTER_AT, zone), ends + EVENING_AFTER_MIN_GAP)
        found = _occurrence("infusion_evening_after", key, due, prefs, zone)
        if found:
            yield found
    if infusion.status in ("planned", "completed") and infusion.ask_home_safely:
        day_after = local.date() + timedelta(days=1)
        found = _occurrence(
            "infusion_home_safely", key, at_local(day_after, HOME_SAFELY_AT, zone), prefs, zone
        )
        if found:
            yield found
