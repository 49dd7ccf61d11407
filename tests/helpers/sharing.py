"""Helpers for the sharing tests: codes, shares, and a patient's log written through the API."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from server import db

ANSWERS_FOR = {
    # PHQ-9 answers summing to a total (item 9 last, 0 unless given).
    "phq9": lambda total, item9=0: [*_spread(total - item9, 8), item9],
    "gad7": lambda total, item9=0: _spread(total, 7),
}


def _spread(total: int, items: int) -> list[int]:
    return [min(3, max(0, total - 3 * i)) for i in range(items)]


async def make_code(patient: Any, **body: Any) -> dict[str, Any]:
    response = await patient.post("/api/v1/shares", json=body or None)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def share(patient: Any, clinician: Any) -> str:
    """An active share from ``patient`` to ``clinician``; returns its id."""
    code = await make_code(patient)
    response = await clinician.post("/api/v1/shares/accept", json={"code": code["code"]})
    assert response.status_code == 200, response.text
    return str(code["id"])


async def audit_rows(pool: db.Pool, patient_id: str, action: str | None = None) -> list[Any]:
    async with pool.acquire() as conn:
        return list(
            await conn.fetch(
                """SELECT * FROM audit_events WHERE patient_id = $1
                     AND ($2::text IS NULL OR action = $2) ORDER BY id""",
                uuid.UUID(patient_id),
                action,
            )
        )


def at(day: date, hour: int = 20) -> str:
    return datetime.combine(day, time(hour), UTC).isoformat()


async def log_checkin(
    patient: Any, day: date, mood: int, effects: list[tuple[str, int]] | None = None
) -> None:
    response = await patient.put(
        f"/api/v1/checkins/{uuid.uuid4()}",
        json={
            "recorded_at": at(day, 20),
            "mood": mood,
            "side_effects": [{"code": c, "severity": s} for c, s in (effects or [])],
        },
    )
    assert response.status_code in (200, 201), response.text


async def log_assessment(
    patient: Any, day: date, instrument: str, total: int, item9: int = 0
) -> None:
    response = await patient.put(
        f"/api/v1/assessments/{uuid.uuid4()}",
        json={
            "instrument": instrument,
            "answers": ANSWERS_FOR[instrument](total, item9),
            "taken_at": at(day, 14),
        },
    )
    assert response.status_code in (200, 201), response.text


async def log_infusion(patient: Any, day: date, status: str = "completed") -> str:
    infusion_id = str(uuid.uuid4())
    response = await patient.put(
        f"/api/v1/infusions/{infusion_id}",
        json={"scheduled_at": at(day, 16), "duration_minutes": 40, "status": status},
    )
    assert response.status_code in (200, 201), response.text
    return infusion_id


# One "today" for the whole run: a test that logs on days_ago(n) and then looks for days_ago(n)
# in what the server says agrees with itself even if midnight (UTC) passes in between.
TODAY = datetime.now(UTC).date()


def days_ago(n: int) -> date:
    # UTC 20:00 on a day n days back, in the test patient's zone (America/New_York) is that day.
    return TODAY - timedelta(days=n)
