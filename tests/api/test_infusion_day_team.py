"""Infusion day under a care team (issues 15 and 16): planning is the prescriber's right in the
one roles table, row-level security admits a nurse of the patient's team to the chair record
(and no one of another clinic), and the dose limits and blood-pressure threshold are the
clinic's settings."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from litestar import Litestar

from server import db
from server.domain.clinic import may
from server.security import SESSION_COOKIE
from server.services import sessions
from server.store import clinics as clinic_store
from tests.helpers.client import Client
from tests.helpers.clinics import make_clinic, make_member
from tests.helpers.log_entries import infusion


@asynccontextmanager
async def request_of(app: Litestar, client: Any) -> AsyncIterator[db.Connection]:
    """A connection taken as the client's request takes it (row-level security applies)."""
    pool = app.state.pool
    async with db.request_scope(), db.connection(pool) as conn:
        assert await sessions.user_for_token(pool, client.cookies[SESSION_COOKIE]) is not None
        yield conn


async def _team(
    app: Litestar, pool: db.Pool, name: str, *roles: str
) -> tuple[uuid.UUID, dict[str, Client]]:
    clinic = await make_clinic(pool, name)
    members = {}
    for role in roles:
        members[role] = Client(app)
        await make_member(pool, members[role], clinic, [role], f"{name} {role}")
    return clinic, members


async def _shares_with(pool: db.Pool, clinic: uuid.UUID, patient: Any) -> None:
    async with db.transaction(pool) as conn:
        await clinic_store.start_team_share(conn, clinic, uuid.UUID(patient.me["id"]))


async def _session(patient: Any, hours_ago: int = 2) -> str:
    session = str(uuid.uuid4())
    when = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()
    body = infusion(scheduled_at=when, duration_minutes=60, status="completed")
    made = await patient.put(f"/api/v1/infusions/{session}", json=body)
    assert made.status_code == 201, made.text
    return session


def test_planning_a_course_is_the_prescribers_right_alone() -> None:
    assert may(["prescriber"], "plan_write")
    for role in ("nurse", "front_desk", "admin"):
        assert not may([role], "plan_write")
    assert may(["nurse"], "chair_write")


async def test_row_security_admits_the_teams_nurse_to_the_chair_record_and_no_other_clinic(
    app: Litestar, pool: db.Pool, patient: Any
) -> None:
    clinic, ours = await _team(app, pool, "Riverside", "nurse", "front_desk")
    _, theirs = await _team(app, pool, "Hillside", "nurse")
    await _shares_with(pool, clinic, patient)
    session = uuid.UUID(await _session(patient))
    pid = uuid.UUID(patient.me["id"])
    insert_record = """INSERT INTO session_records (infusion_id, patient_id, drug)
                       VALUES ($1, $2, 'iv_ketamine')"""
    insert_course = """INSERT INTO courses (id, patient_id, kind, drug, sessions, every_days,
                                            first_at, duration_minutes)
                       VALUES ($1, $2, 'induction', 'iv_ketamine', 6, 3, now(), 60)"""

    # A statement of the nurse's own, no filter: the database decides.
    async with request_of(app, ours["nurse"]) as conn:
        await conn.execute(insert_record, session, pid)
        updated = await conn.execute(
            "UPDATE session_records SET dissociation = 4 WHERE infusion_id = $1", session
        )
        assert updated == "UPDATE 1"
        assert await conn.fetchval("SELECT dissociation FROM session_records") == 4
        # The nurse reads the plan but writes none: planning is the prescriber's.
        assert await conn.fetchval("SELECT count(*) FROM courses") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(insert_course, uuid.uuid4(), pid)
    async with request_of(app, ours["front_desk"]) as conn:
        assert await conn.fetchval("SELECT count(*) FROM session_records") == 0
    async with request_of(app, theirs["nurse"]) as conn:
        assert await conn.fetchval("SELECT count(*) FROM session_records") == 0
        updated = await conn.execute(
            "UPDATE session_records SET dissociation = 9 WHERE infusion_id = $1", session
        )
        assert updated == "UPDATE 0"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(
                "INSERT INTO session_records (infusion_id, patient_id, drug) "
                "VALUES ($1, $2, 'iv_ketamine')",
                uuid.UUID(await _session(patient, 30)),
                pid,
            )
    # And through the API: another clinic's nurse does not find the patient.
    url = f"/api/v1/patients/{pid}/infusions/{session}/record"
    assert (await ours["nurse"].get(url)).json()["record"]["dissociation"] == 4
    assert (await theirs["nurse"].get(url)).status_code == 404
    for each in (*ours.values(), *theirs.values()):
        await each.aclose()


async def test_the_clinics_own_limits_and_threshold_are_applied(
    app: Litestar, pool: db.Pool, patient: Any
) -> None:
    clinic, members = await _team(app, pool, "Lakeside", "admin", "nurse")
    await _shares_with(pool, clinic, patient)
    session = await _session(patient)
    url = f"/api/v1/patients/{patient.me['id']}/infusions/{session}/record"
    before = {"systolic": 135, "diastolic": 80, "heart_rate": 72}
    record = {"drug": "iv_ketamine", "weight_kg": 80, "dose_mg_per_kg": 0.8, "before": before}

    saved = await members["nurse"].put(url, json=record)
    assert saved.status_code == 200, saved.text
    assert saved.json()["warning"] is None  # 135/80 is within the default 140/90

    admin = members["admin"]
    current = (await admin.get("/api/v1/clinic/settings")).json()
    assert current["bp_systolic_threshold"] == 140 and current["esketamine_doses"] == [28, 56, 84]
    refused = await admin.put(
        "/api/v1/clinic/settings", json={"name": "Lakeside", "bp_systolic_threshold": 40}
    )
    assert refused.status_code == 400 and refused.json()["field"] == "bp_systolic_threshold"
    lower = {
        "name": "Lakeside",
        "bp_systolic_threshold": 130,
        "bp_diastolic_threshold": 85,
        "ketamine_max_mg_per_kg": 0.5,
        "esketamine_doses": [56, 84],
    }
    changed = await admin.put("/api/v1/clinic/settings", json=lower)
    assert changed.status_code == 200, changed.text

    # The same reading now crosses the clinic's lower threshold, on the record and on reading.
    again = await members["nurse"].put(url, json={**record, "dose_mg_per_kg": 0.5})
    assert again.status_code == 200, again.text
    assert "135/80" in again.json()["warning"] and "130/85" in again.json()["warning"]
    assert "130/85" in (await members["nurse"].get(url)).json()["warning"]
    too_much = await members["nurse"].put(url, json=record)
    assert too_much.status_code == 422 and too_much.json()["field"] == "dose_mg_per_kg"
    spray = await members["nurse"].put(url, json={"drug": "intranasal_esketamine", "dose_mg": 28})
    assert spray.status_code == 422 and spray.json()["field"] == "dose_mg"
    for each in members.values():
        await each.aclose()


async def test_the_settings_page_takes_the_limits(app: Litestar, pool: db.Pool) -> None:
    _, members = await _team(app, pool, "Parkside", "admin")
    admin = members["admin"]
    page = await admin.get("/clinic/settings")
    assert page.status_code == 200 and 'name="bp_systolic_threshold"' in page.text
    form = {
        "name": "Parkside",
        "country": "US",
        "ketamine_min_mg_per_kg": "0.2",
        "ketamine_max_mg_per_kg": "0.8",
        "esketamine_56": "1",
        "bp_systolic_threshold": "150",
        "bp_diastolic_threshold": "95",
    }
    saved = await admin.post("/clinic/settings", data=form)
    assert saved.status_code == 303, saved.text
    found = (await admin.get("/api/v1/clinic/settings")).json()
    assert (found["ketamine_min_mg_per_kg"], found["ketamine_max_mg_per_kg"]) == (0.2, 0.8)
    assert found["esketamine_doses"] == [56]
    assert (found["bp_systolic_threshold"], found["bp_diastolic_threshold"]) == (150, 95)
    bad = await admin.post("/clinic/settings", data={**form, "ketamine_max_mg_per_kg": "lots"})
    assert bad.status_code == 400 and "Enter a number." in bad.text
    await admin.aclose()


async def test_the_schedule_shows_each_ride_and_moves_and_the_patient_sees_who_moved(
    app: Litestar, pool: db.Pool, patient: Any
) -> None:
    clinic, members = await _team(app, pool, "Bayside", "front_desk")
    desk = members["front_desk"]
    await _shares_with(pool, clinic, patient)
    tomorrow = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0)
    tomorrow += timedelta(days=1)
    ids = []
    for hours in (0, 2):
        session = str(uuid.uuid4())
        body = infusion(scheduled_at=(tomorrow + timedelta(hours=hours)).isoformat())
        assert (await patient.put(f"/api/v1/infusions/{session}", json=body)).status_code == 201
        ids.append(session)
    ride = await patient.put(f"/api/v1/infusions/{ids[0]}/checklist", json={"ride": "rideshare"})
    assert ride.status_code == 200, ride.text

    day = tomorrow.date().isoformat()
    page = await desk.get(f"/clinic/schedule?day={day}&view=week")
    assert page.status_code == 200
    assert "ride: rideshare" in page.text and "ride: not arranged" in page.text
    assert f'id="move-day-{ids[1]}"' in page.text
    assert (await patient.get("/api/v1/me/infusion-changes")).json() == []

    moved = await desk.post(
        "/clinic/schedule",
        data={"patient": patient.me["id"], "infusion": ids[1], "day": day, "time": "18:30"},
    )
    assert moved.status_code == 303, moved.text
    items = (await patient.get("/api/v1/infusions")).json()["items"]
    [mine] = [i for i in items if i["id"] == ids[1]]
    assert datetime.fromisoformat(mine["scheduled_at"]).minute == 30  # 18:30, the staff's time
    changes = (await patient.get("/api/v1/me/infusion-changes")).json()
    assert changes == [{"infusion_id": ids[1], "changed_by": "Bayside front_desk"}]

    # The patient's own later change stands, and is theirs.
    again = infusion(scheduled_at=(tomorrow + timedelta(hours=4)).isoformat())
    assert (await patient.put(f"/api/v1/infusions/{ids[1]}", json=again)).status_code == 200
    assert (await patient.get("/api/v1/me/infusion-changes")).json() == []
    await desk.aclose()
