"""What a write costs the monitoring rules (server/services/monitoring.py): a check-in no rule
watches, the common one, is judged from itself and reads nothing, so the check-in write path
stays one statement. Here it is given no connection at all: any read would fail."""

from __future__ import annotations

from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from server.domain.accounts import Access, User
from server.domain.logbook import ASSESSMENTS, CHECKINS
from server.services.monitoring import findings_after_write
from tests.helpers.records import NOW, PATIENT, checkin, gad7

ZONE = ZoneInfo("America/New_York")
ME = Access(
    patient_id=PATIENT,
    viewer=User(
        id=PATIENT,
        email="sam@example.org",
        role="patient",
        display_name="Sam",
        timezone=ZONE.key,
        created_at=NOW,
    ),
    as_="self",
)
NO_CONNECTION = cast(Any, None)


@pytest.mark.parametrize(
    "record",
    [checkin(3, 6), checkin(3, 10, [("nausea", 2), ("headache", 1)]), checkin(3, 8)],
)
async def test_a_checkin_with_a_good_mood_and_no_severe_effect_reads_nothing(record: Any) -> None:
    assert not CHECKINS.watched(record)
    assert await findings_after_write(NO_CONNECTION, ME, CHECKINS, record, NOW, ZONE) == []


async def test_a_gad7_reads_nothing() -> None:
    assert await findings_after_write(NO_CONNECTION, ME, ASSESSMENTS, gad7(3, 12), NOW, ZONE) == []


@pytest.mark.parametrize("record", [checkin(3, 5), checkin(3, 9, [("nausea", 3)])])
async def test_a_low_mood_or_a_severe_effect_is_looked_into(record: Any) -> None:
    assert CHECKINS.watched(record)
    with pytest.raises(AttributeError):  # it reads around the entry: here, there is nothing
        await findings_after_write(NO_CONNECTION, ME, CHECKINS, record, NOW, ZONE)
