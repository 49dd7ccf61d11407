"""Check-ins end to end: idempotent PUT, local days, listing, tombstones."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from server import db
from tests.helpers.accounts import register
from tests.helpers.log_entries import checkin, hours_ago, iso, new_id, patient_rows, snapshot

URL = "/api/v1/checkins"


async def test_put_twice_is_one_checkin(patient: Any, pool: db.Pool) -> None:
    entry = new_id()
    body = checkin(
        mood=7,
        anxiety=3,
        energy=5,
        sleep_hours=7.5,
        note="Slept well.\nA little foggy.",
        side_effects=[
            {"code": "nausea", "severity": 1},
            {"code": "other", "severity": 2, "text": "metallic taste"},
            {"code": "dissociation", "severity": 3},
        ],
        updated_at=iso(hours_ago(0.5)),
    )
    first = await patient.put(f"{URL}/{entry}", json=body)
    assert first.status_code == 201, first.text
    stored = first.json()
    assert stored["id"] == entry and stored["mood"] == 7 and stored["sleep_hours"] == 7.5
    # Side effects come back in catalogue order, whatever order they were sent in.
    assert [e["code"] for e in stored["side_effects"]] == ["dissociation", "nausea", "other"]
    assert stored["side_effects"][2]["text"] == "metallic taste"
    before = await snapshot(pool)

    again = await patient.put(f"{URL}/{entry}", json=body)
    assert again.status_code == 200, again.text
    assert again.json() == stored
    assert await snapshot(pool) == before  # a replay changes nothing, not even the counter
    assert len(await patient_rows(pool, "checkins", patient.me["id"])) == 1

    fetched = await patient.get(f"{URL}/{entry}")
    assert fetched.status_code == 200 and fetched.json() == stored


async def test_same_instant_in_another_offset_is_the_same_change(patient: Any) -> None:
    entry = new_id()
    changed = hours_ago(0.2)
    body = checkin(recorded_at="2024-05-01T08:00:00-04:00", updated_at=iso(changed))
    assert (await patient.put(f"{URL}/{entry}", json=body)).status_code == 201
    same = checkin(recorded_at="2024-05-01T12:00:00Z", updated_at=iso(changed.astimezone(UTC)))
    response = await patient.put(f"{URL}/{entry}", json=same)
    assert response.status_code == 200
    assert response.json()["recorded_at"] == "2024-05-01T12:00:00Z"


async def test_plain_put_uses_the_server_clock_and_later_wins(patient: Any) -> None:
    entry = new_id()
    assert (await patient.put(f"{URL}/{entry}", json=checkin(mood=2))).status_code == 201
    response = await patient.put(f"{URL}/{entry}", json=checkin(mood=9))
    assert response.status_code == 200 and response.json()["mood"] == 9
    server_time = datetime.fromisoformat(response.json()["updated_at"])
    assert abs(server_time - datetime.now(UTC)) < timedelta(minutes=5)


async def test_an_older_change_is_refused_with_409(patient: Any, pool: db.Pool) -> None:
    entry = new_id()
    newer = checkin(mood=8, updated_at=iso(hours_ago(1)))
    assert (await patient.put(f"{URL}/{entry}", json=newer)).status_code == 201
    before = await snapshot(pool)
    older = checkin(mood=1, updated_at=iso(hours_ago(2)))
    response = await patient.put(f"{URL}/{entry}", json=older)
    assert response.status_code == 409
    assert response.json()["field"] == "updated_at"
    assert await snapshot(pool) == before


async def test_local_day_follows_the_patient_zone(client_factory: Any) -> None:
    # 04:30 UTC on 10 March 2024: 23:30 on the 9th in New York (EST, the night DST starts),
    # 17:30 on the 10th in Auckland, 10:00 on the 10th in Kolkata.
    moment = "2024-03-10T04:30:00Z"
    expected = {
        "America/New_York": "2024-03-09",
        "Pacific/Auckland": "2024-03-10",
        "Asia/Kolkata": "2024-03-10",
    }
    for zone, day in expected.items():
        client = client_factory()
        await register(client, timezone=zone)
        response = await client.put(f"{URL}/{new_id()}", json=checkin(recorded_at=moment))
        assert response.status_code == 201
        assert response.json()["local_day"] == day, zone
    # Fall back in New York: 01:30 EST (06:30 UTC) is still 3 November.
    client = client_factory()
    await register(client, timezone="America/New_York")
    response = await client.put(
        f"{URL}/{new_id()}", json=checkin(recorded_at="2024-11-03T06:30:00Z")
    )
    assert response.json()["local_day"] == "2024-11-03"
    response = await client.put(
        f"{URL}/{new_id()}", json=checkin(recorded_at="2024-11-04T04:59:00Z")
    )
    assert response.json()["local_day"] == "2024-11-03"


async def test_list_is_bounded_newest_first_and_paginated(patient: Any) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ids = []
    for hours in (1, 2, 3, 30, 24 * 40):  # several a day are fine; one is 40 days ago
        entry = new_id()
        ids.append(entry)
        body = checkin(recorded_at=iso(now - timedelta(hours=hours)), mood=hours % 11)
        assert (await patient.put(f"{URL}/{entry}", json=body)).status_code == 201

    default = (await patient.get(URL)).json()
    assert [c["id"] for c in default["items"]] == ids[:4]  # the last 30 days, newest first
    assert default["next"] is None

    seen = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "from": "2000-01-01", "to": "2000-12-31"}
        params = {"limit": 2, "from": (date.today() - timedelta(days=60)).isoformat()}
        params["to"] = (date.today() + timedelta(days=1)).isoformat()
        if cursor:
            params["cursor"] = cursor
        page = (await patient.get(URL, params=params)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == ids

    assert (await patient.delete(f"{URL}/{ids[0]}")).status_code == 204
    after = (await patient.get(URL)).json()
    assert [c["id"] for c in after["items"]] == ids[1:4]


async def test_delete_leaves_an_empty_tombstone(patient: Any, pool: db.Pool) -> None:
    entry = new_id()
    body = checkin(note="private", side_effects=[{"code": "headache", "severity": 2}])
    assert (await patient.put(f"{URL}/{entry}", json=body)).status_code == 201

    assert (await patient.delete(f"{URL}/{entry}")).status_code == 204
    assert (await patient.get(f"{URL}/{entry}")).status_code == 404
    [row] = await patient_rows(pool, "checkins", patient.me["id"])
    assert row["deleted"] is True
    assert row["id"] == uuid.UUID(entry)
    erased = ("recorded_at", "local_day", "mood", "note", "sleep_hours", "anxiety", "energy")
    assert all(row[column] is None for column in erased)
    assert row["side_effects"] == []

    before = await snapshot(pool)
    assert (await patient.delete(f"{URL}/{entry}")).status_code == 204  # idempotent
    assert await snapshot(pool) == before
    assert (await patient.delete(f"{URL}/{new_id()}")).status_code == 404

    # A later edit brings it back (a delete is a change like any other).
    revived = await patient.put(f"{URL}/{entry}", json=checkin(mood=4))
    assert revived.status_code == 200 and revived.json()["mood"] == 4


async def test_export_has_everything_of_mine(patient: Any) -> None:
    entry = new_id()
    await patient.put(f"{URL}/{entry}", json=checkin(mood=3))
    gone = new_id()
    await patient.put(f"{URL}/{gone}", json=checkin(mood=5))
    await patient.delete(f"{URL}/{gone}")
    await patient.put(
        f"/api/v1/assessments/{new_id()}",
        json={"instrument": "gad7", "answers": [1] * 7, "taken_at": iso(hours_ago(3))},
    )
    await patient.put(
        f"/api/v1/infusions/{new_id()}",
        json={"scheduled_at": iso(hours_ago(-48)), "duration_minutes": 45},
    )
    response = await patient.get("/api/v1/me/export")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    document = response.json()
    assert document["account"]["id"] == patient.me["id"]
    assert [c["id"] for c in document["checkins"]] == [entry]
    assert document["assessments"][0]["total"] == 7
    assert document["infusions"][0]["duration_minutes"] == 45
    # Their reminder preferences and devices are theirs too (defaults until changed).
    assert document["reminders"]["quiet_hours_start"].startswith("21:00")
    assert document["devices"] == []
