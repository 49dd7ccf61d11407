"""Treatment plans (issue 16): a course generates its sessions as infusions, the patient sees
"session n of N", and each course is judged against its own baseline PHQ-9."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server import db
from server.store import clinics as clinic_store
from tests.helpers.accounts import make_clinician
from tests.helpers.sharing import at, days_ago, log_assessment, share

NEW_YORK = ZoneInfo("America/New_York")


def _plan(**overrides: Any) -> dict[str, Any]:
    start = datetime.combine(datetime.now(NEW_YORK).date() + timedelta(days=3), time(10), NEW_YORK)
    body: dict[str, Any] = {
        "kind": "induction",
        "drug": "iv_ketamine",
        "sessions": 6,
        "every_days": 2,
        "first_at": start.isoformat(),
        "duration_minutes": 60,
    }
    body.update(overrides)
    return body


async def test_a_plan_generates_its_sessions(patient: Any, clinician: Any, pool: db.Pool) -> None:
    await share(patient, clinician)
    url = f"/api/v1/patients/{patient.me['id']}/courses"
    made = await clinician.post(url, json=_plan())
    assert made.status_code == 201, made.text
    body = made.json()
    sessions = body["sessions"]
    assert len(sessions) == 6 and body["course"]["kind"] == "induction"
    assert all(s["status"] == "planned" for s in sessions)
    assert all(s["course_id"] == body["course"]["id"] for s in sessions)
    local = [datetime.fromisoformat(s["scheduled_at"]).astimezone(NEW_YORK) for s in sessions]
    assert all((t.hour, t.minute) == (10, 0) for t in local)  # the wall-clock time is kept
    assert all(t.weekday() < 5 for t in local)  # clinic days only
    assert all(2 <= (b - a).days <= 4 for a, b in itertools.pairwise(local))
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT course_id, updated_by FROM infusions WHERE patient_id = $1::text::uuid",
            patient.me["id"],
        )
    assert len(rows) == 6 and {str(r["updated_by"]) for r in rows} == {clinician.me["id"]}

    # The patient sees where they are in it, and their own app lists the sessions.
    mine = (await patient.get("/api/v1/me/course")).json()
    assert (mine["total"], mine["given"], mine["next_number"]) == (6, 0, 1)
    assert mine["next_id"] == sessions[0]["id"] and mine["kind_label"] == "Induction"
    assert len((await patient.get("/api/v1/infusions")).json()["items"]) == 6

    # Moving or cancelling a session through the patient's own log keeps it in its course.
    first = sessions[0]
    moved = {
        "scheduled_at": (datetime.fromisoformat(first["scheduled_at"]) + timedelta(hours=2))
        .astimezone(UTC)
        .isoformat(),
        "duration_minutes": 60,
        "status": "cancelled",
    }
    assert (await patient.put(f"/api/v1/infusions/{first['id']}", json=moved)).status_code == 200
    mine = (await patient.get("/api/v1/me/course")).json()
    assert (mine["total"], mine["next_number"], mine["next_id"]) == (5, 1, sessions[1]["id"])
    got = (await patient.get(f"/api/v1/infusions/{first['id']}")).json()
    assert got["course_id"] == body["course"]["id"]


async def test_a_plan_outside_its_limits_is_refused(patient: Any, clinician: Any) -> None:
    await share(patient, clinician)
    url = f"/api/v1/patients/{patient.me['id']}/courses"
    for overrides, field in (
        ({"sessions": 40}, "sessions"),
        ({"kind": "maintenance", "every_days": 2}, "every_days"),
        ({"first_at": "2001-01-01T10:00:00Z"}, "first_at"),
        ({"drug": "lsd"}, "drug"),
    ):
        refused = await clinician.post(url, json=_plan(**overrides))
        assert refused.status_code == 400 and refused.json()["field"] == field, refused.text
    # A patient plans no course of their own, and a stranger's patient does not exist.
    assert (await patient.post(url, json=_plan())).status_code == 403
    other = f"/api/v1/patients/{uuid.uuid4()}/courses"
    assert (await clinician.post(other, json=_plan())).status_code == 404


async def test_each_course_is_judged_against_its_own_baseline(patient: Any, clinician: Any) -> None:
    await share(patient, clinician)
    url = f"/api/v1/patients/{patient.me['id']}/courses"
    await log_assessment(patient, days_ago(33), "phq9", 20)  # the induction's baseline
    await log_assessment(patient, days_ago(18), "phq9", 8)  # a response (8 <= 10)
    await log_assessment(patient, days_ago(9), "phq9", 16)  # a relapse, then re-induction
    await log_assessment(patient, days_ago(1), "phq9", 4)  # remission in the re-induction
    induction = _plan(first_at=at(days_ago(30), 16), every_days=2, weekdays_only=False)
    assert (await clinician.post(url, json=induction)).status_code == 201
    again = _plan(
        kind="reinduction",
        first_at=at(days_ago(6), 16),
        sessions=3,
        every_days=2,
        weekdays_only=False,
    )
    assert (await clinician.post(url, json=again)).status_code == 201

    newest, oldest = (await clinician.get(url)).json()
    assert newest["course"]["kind"] == "reinduction" and newest["current"]
    assert (newest["phq9"]["baseline"], newest["phq9"]["latest"]) == (16, 4)
    assert newest["phq9"]["response"] is True and newest["phq9"]["remission"] is True
    assert newest["progress"]["given"] == 3 and newest["progress"]["next_number"] is None
    assert oldest["course"]["kind"] == "induction" and not oldest["current"]
    assert (oldest["phq9"]["baseline"], oldest["phq9"]["latest"]) == (20, 16)
    assert oldest["phq9"]["response"] is False and oldest["phq9"]["relapse"] is True
    assert oldest["progress"]["given"] == 6


async def test_a_nurse_records_sessions_but_plans_no_course(
    patient: Any, client_factory: Any, pool: db.Pool
) -> None:
    nurse = client_factory()
    nurse.me = await make_clinician(pool, nurse, "Nurse Kim")
    front_desk = client_factory()
    front_desk.me = await make_clinician(pool, front_desk, "Desk Lee")
    async with pool.acquire() as conn:
        clinic = await clinic_store.create_clinic(conn, "Riverside Clinic")
        await clinic_store.add_member(conn, clinic, uuid.UUID(nurse.me["id"]), ["nurse"])
        await clinic_store.add_member(conn, clinic, uuid.UUID(front_desk.me["id"]), ["front_desk"])
        await clinic_store.start_team_share(conn, clinic, uuid.UUID(patient.me["id"]))
    base = f"/api/v1/patients/{patient.me['id']}"
    refused = await nurse.post(f"{base}/courses", json=_plan())
    assert refused.status_code == 403, refused.text
    session = str(uuid.uuid4())
    when = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    made = await patient.put(
        f"/api/v1/infusions/{session}", json={"scheduled_at": when, "duration_minutes": 45}
    )
    assert made.status_code == 201
    record = {"drug": "iv_ketamine", "before": {"systolic": 120, "diastolic": 80, "heart_rate": 70}}
    saved = await nurse.put(f"{base}/infusions/{session}/record", json=record)
    assert saved.status_code == 200, saved.text
    assert (await nurse.get(f"{base}/courses")).status_code == 200
    # The front desk runs the schedule, not the chair.
    desk = await front_desk.put(f"{base}/infusions/{session}/record", json=record)
    assert desk.status_code == 403
    assert (await front_desk.get(f"{base}/infusions/{session}/record")).status_code == 403
