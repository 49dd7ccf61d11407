"""A course's sessions are infusions (issue 16): planning a course plans each session's
reminders, and moving one of its sessions re-plans that session's reminders, as for any
infusion; no stale reminder is left for the old time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server import db
from tests.helpers.client import Client
from tests.helpers.push import outbox
from tests.helpers.push_service import PushService
from tests.helpers.sharing import share

NEW_YORK = ZoneInfo("America/New_York")
SESSION_KINDS = {"infusion_day_before", "infusion_two_hours", "infusion_evening_after"}


def _sessions_of(rows: list[dict[str, Any]]) -> dict[str, set[datetime]]:
    found: dict[str, set[datetime]] = {}
    for row in rows:
        if row["kind"] in SESSION_KINDS:
            found.setdefault(row["kind"], set()).add(row["due_at"])
    return found


async def test_planning_and_moving_a_course_session_plans_its_reminders(
    patient: Client, clinician: Client, pool: db.Pool, push_service: PushService
) -> None:
    me = patient.me  # type: ignore[attr-defined]
    await patient.post("/api/v1/push/subscriptions", json=push_service.subscribe().as_json())
    await share(patient, clinician)
    # Within the planner's 48 hours; the second session, a week on, is planned later.
    first = (datetime.now(NEW_YORK) + timedelta(hours=30)).replace(second=0, microsecond=0)
    made = await clinician.post(
        f"/api/v1/patients/{me['id']}/courses",
        json={
            "kind": "maintenance",
            "drug": "iv_ketamine",
            "sessions": 2,
            "every_days": 7,
            "first_at": first.isoformat(),
            "weekdays_only": False,
        },
    )
    assert made.status_code == 201, made.text
    sessions = made.json()["sessions"]
    planned = _sessions_of(await outbox(pool, me["id"], "pending"))
    assert planned["infusion_two_hours"] == {first - timedelta(hours=2)}
    assert len(planned["infusion_day_before"]) == 1

    later = first + timedelta(hours=3)
    moved = await patient.put(
        f"/api/v1/infusions/{sessions[0]['id']}",
        json={"scheduled_at": later.isoformat(), "duration_minutes": 60},
    )
    assert moved.status_code == 200, moved.text
    replanned = _sessions_of(await outbox(pool, me["id"], "pending"))
    assert replanned["infusion_two_hours"] == {later - timedelta(hours=2)}
    mine = (await patient.get("/api/v1/me/course")).json()
    assert (mine["total"], mine["next_number"], mine["next_id"]) == (2, 1, sessions[0]["id"])
