"""Reminder times (server/domain/reminders.py): pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.reminders import (
    InfusionSlot,
    Occurrence,
    PushPayload,
    ReminderPrefs,
    at_local,
    check_prefs,
    outside_quiet,
    plan,
)
from server.errors import InvalidField

NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
ADELAIDE = ZoneInfo("Australia/Adelaide")
ONLY_DAILY = ReminderPrefs(
    daily_checkin_time=time(8, 0), weekly_phq9_day=None, weekly_phq9_time=None
)
NO_ROUTINE = ReminderPrefs(daily_checkin_time=None, weekly_phq9_day=None, weekly_phq9_time=None)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def due(found: list[Occurrence], kind: str) -> list[datetime]:
    return [o.due_at for o in found if o.kind == kind]


def infusion(at: str, minutes: int = 45, status: str = "planned") -> InfusionSlot:
    return InfusionSlot(
        id=uuid4(),
        scheduled_at=utc(at),
        duration_minutes=minutes,
        status=status,  # type: ignore[arg-type]
    )


def test_a_nonexistent_local_time_moves_forward_by_the_gap() -> None:
    assert at_local(utc("2025-03-09T12:00Z").date(), time(2, 30), NEW_YORK) == utc(
        "2025-03-09T03:30-04:00"
    )


def test_an_ambiguous_local_time_means_its_first_occurrence() -> None:
    assert at_local(utc("2025-11-02T12:00Z").date(), time(1, 30), NEW_YORK) == utc(
        "2025-11-02T01:30-04:00"
    )


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2025-03-07T16:00Z", ["2025-03-08T08:00-05:00", "2025-03-09T08:00-04:00"]),
        ("2025-10-31T15:00Z", ["2025-11-01T08:00-04:00", "2025-11-02T08:00-05:00"]),
    ],
)
def test_daily_stays_at_eight_local_across_dst(start: str, expected: list[str]) -> None:
    found = plan(ONLY_DAILY, NEW_YORK, [], utc(start), utc(start) + timedelta(hours=48))
    assert due(found, "daily_checkin") == [utc(e) for e in expected]
    assert [o.local_day.isoformat() for o in found if o.local_day] == [e[:10] for e in expected]


def test_daily_at_times_the_clock_skips_or_repeats_is_sent_once() -> None:
    night = ReminderPrefs(
        daily_checkin_time=time(1, 30),
        weekly_phq9_day=None,
        weekly_phq9_time=None,
        quiet_hours_start=None,
        quiet_hours_end=None,
    )
    fall = plan(night, NEW_YORK, [], utc("2025-11-02T00:00Z"), utc("2025-11-02T12:00Z"))
    assert due(fall, "daily_checkin") == [utc("2025-11-02T01:30-04:00")]
    spring_prefs = msgspec.structs.replace(night, daily_checkin_time=time(2, 30))
    spring = plan(spring_prefs, NEW_YORK, [], utc("2025-03-09T00:00Z"), utc("2025-03-09T12:00Z"))
    assert due(spring, "daily_checkin") == [utc("2025-03-09T03:30-04:00")]


def test_half_hour_zones() -> None:
    kolkata = plan(ONLY_DAILY, KOLKATA, [], utc("2025-06-10T00:00Z"), utc("2025-06-11T00:00Z"))
    assert due(kolkata, "daily_checkin") == [utc("2025-06-10T02:30Z")]
    # Adelaide springs forward from +09:30 to +10:30 on 5 October 2025.
    adelaide = plan(ONLY_DAILY, ADELAIDE, [], utc("2025-10-03T12:00Z"), utc("2025-10-05T12:00Z"))
    assert due(adelaide, "daily_checkin") == [utc("2025-10-03T22:30Z"), utc("2025-10-04T21:30Z")]


def test_infusion_reminders_across_spring_forward() -> None:
    session = infusion("2025-03-09T10:00-04:00", minutes=60)
    found = plan(
        NO_ROUTINE, NEW_YORK, [session], utc("2025-03-07T00:00Z"), utc("2025-03-11T00:00Z")
    )
    assert due(found, "infusion_day_before") == [utc("2025-03-08T10:00-05:00")]  # 23 h before
    assert due(found, "infusion_two_hours") == [utc("2025-03-09T08:00-04:00")]
    assert due(found, "infusion_evening_after") == [utc("2025-03-09T19:00-04:00")]
    [before] = [o for o in found if o.kind == "infusion_day_before"]
    assert "arrange a ride home" in before.payload.body
    assert before.stale_at == utc("2025-03-08T16:00-05:00")


def test_infusion_reminders_across_fall_back() -> None:
    session = infusion("2025-11-02T10:00-05:00")
    found = plan(
        NO_ROUTINE, NEW_YORK, [session], utc("2025-10-31T00:00Z"), utc("2025-11-04T00:00Z")
    )
    assert due(found, "infusion_day_before") == [utc("2025-11-01T10:00-04:00")]  # 25 h before
    assert due(found, "infusion_two_hours") == [utc("2025-11-02T08:00-05:00")]
    assert due(found, "infusion_evening_after") == [utc("2025-11-02T19:00-05:00")]


def test_two_hours_before_is_elapsed_time_and_ignores_quiet_hours() -> None:
    session = infusion("2025-03-09T04:00-04:00")  # 08:00Z, two clock hours after the gap
    found = plan(
        NO_ROUTINE, NEW_YORK, [session], utc("2025-03-08T00:00Z"), utc("2025-03-10T00:00Z")
    )
    [two] = [o for o in found if o.kind == "infusion_two_hours"]
    assert two.due_at == utc("2025-03-09T01:00-05:00")  # inside quiet hours, sent anyway
    assert (two.stale_at, two.urgency) == (session.scheduled_at, "high")


def test_quiet_hours_move_reminders_to_their_end() -> None:
    late = infusion("2025-06-10T22:00-04:00", minutes=60)
    found = plan(NO_ROUTINE, NEW_YORK, [late], utc("2025-06-08T00:00Z"), utc("2025-06-13T00:00Z"))
    # 22:00 the day before is quiet: the morning of the session day instead.
    assert due(found, "infusion_day_before") == [utc("2025-06-10T08:00-04:00")]
    # Ends 23:00, so "the evening after" is inside the quiet hours: the next morning.
    assert due(found, "infusion_evening_after") == [utc("2025-06-11T08:00-04:00")]
    assert outside_quiet(utc("2025-06-10T20:59-04:00"), NO_ROUTINE, NEW_YORK) == utc(
        "2025-06-10T20:59-04:00"
    )


def test_a_reminder_never_goes_stale_inside_quiet_hours() -> None:
    prefs = ReminderPrefs(
        daily_checkin_time=time(20, 0), weekly_phq9_day=None, weekly_phq9_time=None
    )
    [daily] = plan(prefs, NEW_YORK, [], utc("2025-06-10T12:00Z"), utc("2025-06-11T12:00Z"))
    assert daily.stale_at == utc("2025-06-10T21:00-04:00")


def test_cancelled_and_completed_infusions() -> None:
    start, end = utc("2025-06-08T00:00Z"), utc("2025-06-13T00:00Z")
    assert (
        plan(
            NO_ROUTINE,
            NEW_YORK,
            [infusion("2025-06-10T10:00-04:00", status="cancelled")],
            start,
            end,
        )
        == []
    )
    done = plan(
        NO_ROUTINE, NEW_YORK, [infusion("2025-06-10T10:00-04:00", status="completed")], start, end
    )
    assert [o.kind for o in done] == ["infusion_evening_after"]


def test_weekly_questionnaire_once_an_iso_week_in_local_time() -> None:
    prefs = ReminderPrefs(daily_checkin_time=None, weekly_phq9_day=7, weekly_phq9_time=time(18, 0))
    found = plan(prefs, NEW_YORK, [], utc("2025-03-01T00:00Z"), utc("2025-03-11T00:00Z"))
    assert due(found, "weekly_phq9") == [
        utc("2025-03-02T18:00-05:00"),
        utc("2025-03-09T18:00-04:00"),
    ]
    assert [o.occurrence for o in found] == ["2025-W09", "2025-W10"]


def test_payloads_carry_no_health_words() -> None:
    session = infusion("2025-06-10T10:00-04:00")
    prefs = ReminderPrefs()
    found = plan(prefs, NEW_YORK, [session], utc("2025-06-07T00:00Z"), utc("2025-06-12T00:00Z"))
    assert {o.kind for o in found} == {
        "daily_checkin",
        "weekly_phq9",
        "infusion_day_before",
        "infusion_two_hours",
        "infusion_evening_after",
    }
    for o in found:
        text = msgspec.json.encode(o.payload).decode().lower()
        for word in ("ketamine", "infusion", "depress", "phq", "mood", "suicid", "dose"):
            assert word not in text
    with pytest.raises(ValueError):
        PushPayload("Afterglow", "x", "https://evil.example/", "daily")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quiet_hours_end": None}, "quiet_hours_end"),
        ({"quiet_hours_start": None}, "quiet_hours_start"),
        ({"quiet_hours_start": time(8, 0)}, "quiet_hours_end"),
        ({"weekly_phq9_time": None}, "weekly_phq9_time"),
        ({"weekly_phq9_day": None}, "weekly_phq9_day"),
        ({"daily_checkin_time": time(22, 0)}, "daily_checkin_time"),
        ({"daily_checkin_time": time(7, 59)}, "daily_checkin_time"),
        ({"weekly_phq9_time": time(23, 30)}, "weekly_phq9_time"),
    ],
)
def test_preference_rules(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidField) as caught:
        check_prefs(msgspec.structs.replace(ReminderPrefs(), **changes), "reminders.")
    assert caught.value.field == "reminders." + field


def test_default_preferences_are_valid_and_daytime_quiet_hours_work() -> None:
    assert check_prefs(ReminderPrefs()) == ReminderPrefs()
    siesta = ReminderPrefs(quiet_hours_start=time(13, 0), quiet_hours_end=time(15, 0))
    assert check_prefs(siesta) is siesta
    with pytest.raises(InvalidField):
        check_prefs(msgspec.structs.replace(siesta, daily_checkin_time=time(14, 0)))


ZONES = sorted(
    {"America/New_York", "Europe/London", "Australia/Adelaide", "Asia/Kolkata", "Pacific/Chatham"}
    | {"America/St_Johns", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Santiago", "UTC"}
)


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start=st.datetimes(datetime(2024, 1, 1), datetime(2027, 1, 1), timezones=st.just(UTC)),
    daily=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    quiet=st.one_of(
        st.none(), st.tuples(st.integers(0, 23), st.integers(0, 23)).filter(lambda q: q[0] != q[1])
    ),
    session_hour=st.integers(0, 23),
)
def test_any_zone_any_day(
    zone: str, start: datetime, daily: time, quiet: tuple[int, int] | None, session_hour: int
) -> None:
    """Whatever the zone and day: reminders fall in the window, before they go stale, never in
    quiet hours (but two-hours-before), and a daily one shows the chosen clock time unless the
    clock skipped it that day."""
    tz = ZoneInfo(zone)
    prefs = ReminderPrefs(
        daily_checkin_time=daily,
        weekly_phq9_day=3,
        weekly_phq9_time=time(12, 0),
        quiet_hours_start=time(quiet[0]) if quiet else None,
        quiet_hours_end=time(quiet[1]) if quiet else None,
    )
    local_start = start.astimezone(tz)
    session = at_local(local_start.date() + timedelta(days=1), time(session_hour), tz)
    until = start + timedelta(hours=48)
    found = plan(
        prefs,
        tz,
        [InfusionSlot(id=uuid4(), scheduled_at=session, duration_minutes=60, status="planned")],
        start,
        until,
    )
    keys = [(o.kind, o.occurrence) for o in found]
    assert len(keys) == len(set(keys))
    for o in found:
        assert o.due_at < until and o.stale_at > start and o.stale_at > o.due_at
        wall = o.due_at.astimezone(tz).time()
        if quiet and o.kind != "infusion_two_hours":
            q0, q1 = time(quiet[0]), time(quiet[1])
            inside = (q0 <= wall < q1) if q0 < q1 else (wall >= q0 or wall < q1)
            assert not inside, (o.kind, o.due_at.astimezone(tz))
        if o.kind == "daily_checkin" and o.due_at == at_local(o.local_day, daily, tz):  # type: ignore[arg-type]
            naive = datetime.combine(o.local_day, daily)  # type: ignore[arg-type]
            if (
                naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None)
                == naive
            ):
                assert wall == daily
