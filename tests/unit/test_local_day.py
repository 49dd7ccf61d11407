"""The local day of an entry: in the patient's zone, across DST changes and near midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from server.domain.checkins import CheckInContent, check_checkin
from server.domain.logbook import CHECKINS, Entry
from server.timeutil import local_day


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "zone", "day"),
    [
        # New York, spring forward: 2024-03-10 02:00 EST -> 03:00 EDT.
        ("2024-03-10T04:59", "America/New_York", "2024-03-09"),  # 23:59 EST
        ("2024-03-10T05:00", "America/New_York", "2024-03-10"),  # 00:00 EST
        ("2024-03-10T06:59", "America/New_York", "2024-03-10"),  # 01:59 EST
        ("2024-03-10T07:00", "America/New_York", "2024-03-10"),  # 03:00 EDT
        ("2024-03-11T03:59", "America/New_York", "2024-03-10"),  # 23:59 EDT
        ("2024-03-11T04:00", "America/New_York", "2024-03-11"),  # 00:00 EDT
        # New York, fall back: 2024-11-03 02:00 EDT -> 01:00 EST (01:xx happens twice).
        ("2024-11-03T03:59", "America/New_York", "2024-11-02"),  # 23:59 EDT
        ("2024-11-03T04:00", "America/New_York", "2024-11-03"),  # 00:00 EDT
        ("2024-11-03T05:30", "America/New_York", "2024-11-03"),  # 01:30 EDT
        ("2024-11-03T06:30", "America/New_York", "2024-11-03"),  # 01:30 EST
        ("2024-11-04T04:59", "America/New_York", "2024-11-03"),  # 23:59 EST
        ("2024-11-04T05:00", "America/New_York", "2024-11-04"),  # 00:00 EST
        # Auckland, +13 in summer, +12 in winter; DST ends 2024-04-07 03:00 -> 02:00.
        ("2024-01-15T10:59", "Pacific/Auckland", "2024-01-15"),  # 23:59 NZDT
        ("2024-01-15T11:00", "Pacific/Auckland", "2024-01-16"),  # 00:00 NZDT
        ("2024-04-06T10:59", "Pacific/Auckland", "2024-04-06"),  # 23:59 NZDT
        ("2024-04-06T11:00", "Pacific/Auckland", "2024-04-07"),  # 00:00 NZDT
        ("2024-04-07T11:59", "Pacific/Auckland", "2024-04-07"),  # 23:59 NZST
        ("2024-04-07T12:00", "Pacific/Auckland", "2024-04-08"),  # 00:00 NZST
        # Auckland, DST starts 2024-09-29 02:00 -> 03:00.
        ("2024-09-28T11:59", "Pacific/Auckland", "2024-09-28"),  # 23:59 NZST
        ("2024-09-28T12:00", "Pacific/Auckland", "2024-09-29"),  # 00:00 NZST
        ("2024-09-29T10:59", "Pacific/Auckland", "2024-09-29"),  # 23:59 NZDT
        ("2024-09-29T11:00", "Pacific/Auckland", "2024-09-30"),  # 00:00 NZDT
        # Kolkata, +05:30 all year: a half-hour offset.
        ("2024-06-01T18:29", "Asia/Kolkata", "2024-06-01"),  # 23:59 IST
        ("2024-06-01T18:30", "Asia/Kolkata", "2024-06-02"),  # 00:00 IST
        ("2024-12-31T18:30", "Asia/Kolkata", "2025-01-01"),
        # UTC itself.
        ("2024-02-29T23:59", "UTC", "2024-02-29"),
    ],
)
def test_local_day(moment: str, zone: str, day: str) -> None:
    assert local_day(utc(moment), zone) == date.fromisoformat(day)
    assert local_day(utc(moment), ZoneInfo(zone)) == date.fromisoformat(day)


def test_offset_of_the_input_does_not_matter() -> None:
    """The same instant written with different offsets lands on the same local day."""
    instant = utc("2024-11-03T05:30")
    for offset in (-10, -5, 0, 5.5, 13):
        written = instant.astimezone(timezone(timedelta(hours=offset)))
        assert local_day(written, "America/New_York") == date(2024, 11, 3)


def test_checkin_record_stores_the_local_day_and_utc_time() -> None:
    now = utc("2024-03-12T00:00")
    content = check_checkin(
        CheckInContent(recorded_at=datetime.fromisoformat("2024-03-09T23:30:00-05:00"), mood=5),
        now,
    )
    assert content.recorded_at == utc("2024-03-10T04:30") and content.recorded_at.tzinfo is UTC
    record = CHECKINS.build(
        content,
        Entry(id=uuid4(), patient_id=uuid4(), zone=ZoneInfo("America/New_York"), updated_at=now),
    )
    assert record.local_day == date(2024, 3, 9)
    in_auckland = CHECKINS.build(
        content,
        Entry(id=uuid4(), patient_id=uuid4(), zone=ZoneInfo("Pacific/Auckland"), updated_at=now),
    )
    assert in_auckland.local_day == date(2024, 3, 10)
