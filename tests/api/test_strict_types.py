"""JSON types are what the schema says: a string where a number belongs (``"mood": "7"``), or a
number where a string belongs, is refused like any other invalid field (a 400 naming it), in
every JSON body and in each change sent to /sync, and nothing is stored. Times, days and ids
still arrive as JSON strings and decode as before."""

from __future__ import annotations

from typing import Any

import pytest

from server import db
from tests.helpers.log_entries import checkin, hours_ago, infusion, iso, new_id, phq9, snapshot

REMINDERS = {
    "daily_checkin_time": "19:00",
    "weekly_phq9_day": "sunday",
    "weekly_phq9_time": "18:00",
    "infusion_day_before": True,
    "infusion_two_hours": True,
    "infusion_evening_after": True,
    "quiet_hours_start": "21:00",
    "quiet_hours_end": "08:00",
}


def change(data: dict[str, Any], kind: str = "checkin", **overrides: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "id": new_id(),
        "op": "upsert",
        "updated_at": iso(hours_ago(1)),
        "data": data,
        **overrides,
    }


# (name, method, url (``{id}``: the patient's own id), body, field named in the problem)
CASES: list[tuple[str, str, str, Any, str]] = [
    ("check-in mood '7'", "PUT", "/api/v1/checkins/{new}", checkin(mood="7"), "mood"),
    (
        "check-in sleep '7.5'",
        "PUT",
        "/api/v1/checkins/{new}",
        checkin(sleep_hours="7.5"),
        "sleep_hours",
    ),
    ("check-in note 5", "PUT", "/api/v1/checkins/{new}", checkin(note=5), "note"),
    (
        "side effect severity '2'",
        "PUT",
        "/api/v1/checkins/{new}",
        checkin(side_effects=[{"code": "nausea", "severity": "2"}]),
        "side_effects[0].severity",
    ),
    ("answers as text", "PUT", "/api/v1/assessments/{new}", phq9(["1"] * 9), "answers[0]"),
    (
        "infusion duration '40'",
        "PUT",
        "/api/v1/infusions/{new}",
        infusion(duration_minutes="40"),
        "duration_minutes",
    ),
    (
        "clinic infusion duration '40'",
        "PUT",
        "/api/v1/patients/{id}/infusions/{new}",
        infusion(duration_minutes="40"),
        "duration_minutes",
    ),
    ("share hours '24'", "POST", "/api/v1/shares", {"expires_in_hours": "24"}, "expires_in_hours"),
    (
        "reminder time 830",
        "PUT",
        "/api/v1/me/reminders",
        {**REMINDERS, "daily_checkin_time": 830},
        "daily_checkin_time",
    ),
    (
        "reminder switch 'true'",
        "PUT",
        "/api/v1/me/reminders",
        {**REMINDERS, "infusion_day_before": "true"},
        "infusion_day_before",
    ),
    (
        "reminders in the profile",
        "PATCH",
        "/api/v1/me",
        {"reminders": {"infusion_two_hours": "false"}},
        "reminders.infusion_two_hours",
    ),
    ("display name 42", "PATCH", "/api/v1/me", {"display_name": 42}, "display_name"),
    ("sync cursor a number", "POST", "/api/v1/sync", {"changes": [], "since": 7}, "since"),
]

# Changes sent to /sync, each rejected alone: (name, change, field in its problem).
CHANGES: list[tuple[str, Any, str]] = [
    ("mood '7'", change(checkin(mood="7")), "changes[0].data.mood"),
    ("sleep '7.5'", change(checkin(sleep_hours="7.5")), "changes[0].data.sleep_hours"),
    (
        "duration '40'",
        change(infusion(duration_minutes="40"), "infusion"),
        "changes[0].data.duration_minutes",
    ),
    ("answers as text", change(phq9(["0"] * 9), "assessment"), "changes[0].data.answers[0]"),
    ("op a number", change(checkin(), op=1), "changes[0].op"),
]


async def _stored(pool: db.Pool) -> Any:
    async with pool.acquire() as conn:
        others = [
            await conn.fetch(f"SELECT * FROM {table} ORDER BY 1")
            for table in ("users", "reminder_prefs", "shares")
        ]
    return [await snapshot(pool), [list(map(tuple, rows)) for rows in others]]


@pytest.mark.parametrize(
    ("name", "method", "url", "body", "field"), CASES, ids=[c[0] for c in CASES]
)
async def test_a_wrong_json_type_is_refused(
    patient: Any, pool: db.Pool, name: str, method: str, url: str, body: Any, field: str
) -> None:
    before = await _stored(pool)
    response = await patient.request(
        method, url.format(id=patient.me["id"], new=new_id()), json=body
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["field"] == field, problem
    assert problem["errors"][0]["field"] == field, problem  # the same shape as other fields
    assert await _stored(pool) == before


@pytest.mark.parametrize(("name", "sent", "field"), CHANGES, ids=[c[0] for c in CHANGES])
async def test_a_wrong_json_type_in_a_sync_change_is_rejected_alone(
    patient: Any, pool: db.Pool, name: str, sent: Any, field: str
) -> None:
    good = change(checkin(mood=7, sleep_hours=7))  # an int where a float belongs is a number
    before = await snapshot(pool)
    response = await patient.post("/api/v1/sync", json={"changes": [sent, good], "since": None})
    assert response.status_code == 200, response.text
    bad_result, good_result = response.json()["results"]
    assert bad_result["status"] == "rejected"
    assert bad_result["problem"]["status"] == 400
    assert bad_result["problem"]["field"] == field, bad_result
    assert good_result["status"] == "applied"
    after = await snapshot(pool)
    assert len(after["checkins"]) == len(before["checkins"]) + 1


async def test_times_days_and_ids_still_arrive_as_strings(patient: Any) -> None:
    entry = new_id()
    sent = checkin(mood=7, sleep_hours=8, recorded_at="2024-05-01T08:00:00-04:00")
    response = await patient.put(f"/api/v1/checkins/{entry}", json=sent)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert (stored["id"], stored["local_day"], stored["sleep_hours"]) == (entry, "2024-05-01", 8)
    synced = await patient.post("/api/v1/sync", json={"changes": [change(checkin())]})
    assert synced.json()["results"][0]["status"] == "applied", synced.text
