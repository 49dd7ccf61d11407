"""Infusion sessions the patient keeps: schedule, complete or cancel, list, delete."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from server import db
from tests.helpers.log_entries import hours_ago, infusion, iso, new_id, patient_rows, snapshot

URL = "/api/v1/infusions"


async def test_schedule_then_complete(patient: Any, pool: db.Pool) -> None:
    entry = new_id()
    planned = infusion(scheduled_at="2024-03-10T06:30:00Z", duration_minutes=40)
    created = await patient.put(f"{URL}/{entry}", json=planned)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "planned" and body["local_day"] == "2024-03-10"  # 01:30 EST
    [row] = await patient_rows(pool, "infusions", patient.me["id"])
    assert row["updated_by"] == uuid.UUID(patient.me["id"])
    first_change = row["updated_at"]

    done = infusion(
        scheduled_at="2024-03-10T06:30:00Z",
        duration_minutes=45,
        status="completed",
        notes="Ride home with my sister.",
    )
    response = await patient.put(f"{URL}/{entry}", json=done)
    assert response.status_code == 200
    assert response.json()["status"] == "completed" and response.json()["notes"]
    [row] = await patient_rows(pool, "infusions", patient.me["id"])
    assert row["updated_at"] >= first_change and row["duration_minutes"] == 45
    assert (await patient.get(f"{URL}/{entry}")).json() == response.json()


async def test_replay_with_client_time_changes_nothing(patient: Any, pool: db.Pool) -> None:
    entry = new_id()
    body = infusion(updated_at=iso(hours_ago(0.1)))
    assert (await patient.put(f"{URL}/{entry}", json=body)).status_code == 201
    before = await snapshot(pool)
    for _ in range(2):
        assert (await patient.put(f"{URL}/{entry}", json=body)).status_code == 200
    assert await snapshot(pool) == before


async def test_list_latest_first_and_cancel(patient: Any) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ids = []
    for days in (14, 7, -7):  # two ahead, one behind
        entry = new_id()
        ids.append(entry)
        when = iso(now + timedelta(days=days))
        assert (await patient.put(f"{URL}/{entry}", json=infusion(scheduled_at=when))).is_success
    listed = (await patient.get(URL)).json()
    assert [i["id"] for i in listed["items"]] == ids
    page = (await patient.get(URL, params={"limit": 2})).json()
    assert len(page["items"]) == 2 and page["next"]
    rest = (await patient.get(URL, params={"limit": 2, "cursor": page["next"]})).json()
    assert [i["id"] for i in rest["items"]] == ids[2:] and rest["next"] is None

    cancelled = infusion(scheduled_at=listed["items"][0]["scheduled_at"], status="cancelled")
    response = await patient.put(f"{URL}/{ids[0]}", json=cancelled)
    assert response.json()["status"] == "cancelled"

    assert (await patient.delete(f"{URL}/{ids[1]}")).status_code == 204
    assert (await patient.get(f"{URL}/{ids[1]}")).status_code == 404
    assert [i["id"] for i in (await patient.get(URL)).json()["items"]] == [ids[0], ids[2]]
