"""The clinic as a care team (issue 15): revoking a team share, invitations of members by email
(a real SMTP server) and of patients, alerts to the team's prescribers and nurses, the access
log naming person, role and clinic, settings, requests, and the rights the database holds."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from litestar import Litestar

from server import db
from server.config import Settings
from server.domain.clinic import DATABASE_RIGHTS, RIGHTS
from server.security import SESSION_COOKIE
from server.services import sessions
from tests.helpers.accounts import PASSWORD, register, unique_email
from tests.helpers.client import Client
from tests.helpers.clinics import join_team, make_clinic, make_member, patient_invitation
from tests.helpers.mail_server import MailServer, assert_neutral, deliver, token_in
from tests.helpers.sharing import days_ago, log_assessment


@asynccontextmanager
async def request_of(app: Litestar, client: Any) -> AsyncIterator[db.Connection]:
    pool = app.state.pool
    async with db.request_scope(), db.connection(pool) as conn:
        assert await sessions.user_for_token(pool, client.cookies[SESSION_COOKIE]) is not None
        yield conn


async def _team(app: Litestar, pool: db.Pool, *roles: str) -> tuple[uuid.UUID, dict[str, Client]]:
    clinic = await make_clinic(pool, "Riverside Clinic")
    members = {}
    for role in roles:
        members[role] = Client(app)
        await make_member(pool, members[role], clinic, [role], f"Sam {role}")
    return clinic, members


async def test_revoking_a_team_share_ends_every_members_access_at_the_next_request(
    app: Litestar, pool: db.Pool, client_factory: Any
) -> None:
    _, members = await _team(app, pool, "prescriber", "nurse", "front_desk")
    patient = client_factory()
    patient.me = await register(patient)
    await log_assessment(patient, days_ago(3), "phq9", 12)
    share_id = await join_team(patient, members["nurse"])
    pid = patient.me["id"]
    reads = {
        "prescriber": f"/api/v1/patients/{pid}/summary",
        "nurse": f"/api/v1/patients/{pid}/infusions",
        "front_desk": "/api/v1/clinic/patients",
    }
    for role, url in reads.items():
        response = await members[role].get(url)
        assert response.status_code == 200 and (role != "front_desk" or pid in response.text)
    async with request_of(app, members["nurse"]) as conn:
        assert await conn.fetchval("SELECT count(*) FROM assessments") == 1
    # The front desk's request cannot read the clinical log, even by a statement of its own.
    async with request_of(app, members["front_desk"]) as conn:
        assert await conn.fetchval("SELECT count(*) FROM assessments") == 0
        assert await conn.fetchval("SELECT count(*) FROM reminder_prefs") == 1

    assert (await patient.delete(f"/api/v1/shares/{share_id}")).status_code == 204

    for role in ("prescriber", "nurse"):
        assert (await members[role].get(reads[role])).status_code == 404
    assert pid not in (await members["front_desk"].get(reads["front_desk"])).text
    # The database agrees, against a statement that forgets its filter.
    async with request_of(app, members["nurse"]) as conn:
        assert await conn.fetchval("SELECT count(*) FROM assessments") == 0
        assert await conn.fetchval("SELECT count(*) FROM users WHERE role = 'patient'") == 0
    for each in members.values():
        await each.aclose()


async def test_a_member_invited_by_email_joins_once(
    app: Litestar, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    _, members = await _team(app, pool, "admin")
    admin = members["admin"]
    email = unique_email("nurse")
    response = await admin.post(
        "/api/v1/clinic/invitations", json={"email": email, "roles": ["nurse"]}
    )
    assert response.status_code == 201, response.text
    await deliver(pool, settings, mail_server)
    [message] = mail_server.to(email)
    assert_neutral(message)
    assert "/clinic/join#token=" in str(message.get_body(("plain",)))
    token = token_in(message)

    nurse = Client(app)
    await nurse.get("/clinic/join")  # the CSRF cookie, as a browser would have it
    form = {"token": token, "display_name": "Nia Nurse", "password": PASSWORD, "timezone": "UTC"}
    joined = await nurse.post("/clinic/join", data=form)
    assert joined.status_code == 303 and joined.headers["location"] == "/clinic"
    mine = (await nurse.get("/api/v1/clinic")).json()
    assert [m["roles"] for m in mine] == [["nurse"]]
    listed = (await admin.get("/api/v1/clinic/members")).json()
    assert {m["email"]: m["roles"] for m in listed["members"]}[email] == ["nurse"]
    assert listed["pending"] == []

    again = Client(app)
    await again.get("/clinic/join")
    assert (await again.post("/clinic/join", data=form)).status_code == 404
    # Roles: a nurse cannot invite; bad input names the field.
    refused = await nurse.post(
        "/api/v1/clinic/invitations", json={"email": email, "roles": ["admin"]}
    )
    assert refused.status_code == 403
    bad = await admin.post("/api/v1/clinic/invitations", json={"email": email, "roles": ["boss"]})
    assert bad.status_code == 400 and bad.json()["field"] == "roles"
    for each in (admin, nurse, again):
        await each.aclose()


async def test_an_expired_or_used_patient_invitation_is_refused(
    app: Litestar, pool: db.Pool, client_factory: Any
) -> None:
    _, members = await _team(app, pool, "front_desk")
    token = await patient_invitation(members["front_desk"])
    first, second = client_factory(), client_factory()
    await register(first)
    await register(second)
    ok = await first.post("/api/v1/invitations/consent", json={"token": token})
    assert ok.status_code == 201
    used = await second.post("/api/v1/invitations/consent", json={"token": token})
    assert used.status_code == 404 and used.json()["field"] == "token"
    late = await patient_invitation(members["front_desk"])
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE clinic_invitations SET expires_at = now() WHERE kind = 'patient'"
        )
    assert (
        await second.post("/api/v1/invitations/consent", json={"token": late})
    ).status_code == 404
    await members["front_desk"].aclose()


async def test_alerts_go_to_the_teams_prescribers_and_nurses_one_each(
    app: Litestar, pool: db.Pool, client_factory: Any
) -> None:
    _, members = await _team(app, pool, "prescriber", "nurse", "front_desk", "admin")
    patient = client_factory()
    patient.me = await register(patient)
    await join_team(patient, members["nurse"])
    await log_assessment(patient, days_ago(1), "phq9", 12, item9=1)
    got = {}
    for role, client in members.items():
        response = await client.get("/api/v1/clinician/alerts")
        got[role] = [a["kind"] for a in response.json()] if response.status_code == 200 else []
    assert got == {"prescriber": ["item9"], "nurse": ["item9"], "front_desk": [], "admin": []}
    async with pool.acquire() as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM alerts WHERE patient_id = $1", uuid.UUID(patient.me["id"])
            )
            == 2
        )
    alert = (await members["nurse"].get("/api/v1/clinician/alerts")).json()[0]
    acknowledged = await members["nurse"].post(
        f"/api/v1/clinician/alerts/{alert['id']}/acknowledge"
    )
    assert acknowledged.status_code == 200
    for each in members.values():
        await each.aclose()


async def test_the_access_log_names_person_role_and_clinic(
    app: Litestar, pool: db.Pool, client_factory: Any
) -> None:
    _, members = await _team(app, pool, "nurse")
    patient = client_factory()
    patient.me = await register(patient)
    await join_team(patient, members["nurse"])
    assert (
        await members["nurse"].get(f"/api/v1/patients/{patient.me['id']}/summary")
    ).status_code == 200
    log = (await patient.get("/api/v1/me/access-log")).json()["items"]
    viewed = next(e for e in log if e["action"] == "view_summary")
    assert viewed["actor"]["name"] == "Sam nurse"
    assert viewed["actor"]["clinic"] == "Riverside Clinic"
    assert viewed["actor"]["clinic_roles"] == ["nurse"]
    await members["nurse"].aclose()


async def test_settings_the_clinics_phone_wins_and_crisis_lines_follow_the_country(
    app: Litestar, pool: db.Pool, client_factory: Any, settings: Settings
) -> None:
    _, members = await _team(app, pool, "admin", "front_desk")
    patient = client_factory()
    patient.me = await register(patient)
    await join_team(patient, members["front_desk"])
    before = (await patient.get("/api/v1/me/clinic")).json()
    assert before["phone"] == settings.clinic_phone
    assert [c["href"] for c in before["crisis"]][:2] == ["tel:988", "tel:911"]
    body = {
        "name": "Riverside Clinic",
        "phone": "+44 20 7946 0000",
        "country": "GB",
        "pre_session_instructions": "Nothing to eat for 4 hours before.",
        "checkin_time": "18:30",
        "on_call_email": "oncall@example.org",
    }
    saved = await members["admin"].put("/api/v1/clinic/settings", json=body)
    assert saved.status_code == 200, saved.text
    after = (await patient.get("/api/v1/me/clinic")).json()
    assert after["phone"] == "+44 20 7946 0000"
    assert [c["href"] for c in after["crisis"]] == [
        "tel:116123",
        "tel:111",
        "tel:999",
        "tel:+442079460000",
    ]
    assert after["pre_session_instructions"] == "Nothing to eat for 4 hours before."
    other = await members["admin"].put(
        "/api/v1/clinic/settings", json={"name": "Riverside Clinic", "country": "other"}
    )
    assert other.status_code == 400 and other.json()["field"] == "emergency_number"
    refused = await members["front_desk"].put("/api/v1/clinic/settings", json=body)
    assert refused.status_code == 403
    for each in members.values():
        await each.aclose()


async def test_requests_reach_the_roles_that_take_them_and_the_patient_sees_the_reply(
    app: Litestar, pool: db.Pool, client_factory: Any, settings: Settings, mail_server: MailServer
) -> None:
    _, members = await _team(app, pool, "front_desk", "nurse", "admin")
    patient = client_factory()
    patient.me = await register(patient)
    nothing = await patient.post("/api/v1/requests", json={"kind": "appointment", "message": "Hi"})
    assert nothing.status_code == 400  # no clinic to ask yet
    await join_team(patient, members["front_desk"])
    sent = await patient.post(
        "/api/v1/requests",
        json={"kind": "appointment", "message": "Next week?", "preferred_times": "Mornings"},
    )
    assert sent.status_code == 201, sent.text
    await deliver(pool, settings, mail_server)
    me = {role: (await c.get("/api/v1/me")).json()["email"] for role, c in members.items()}
    assert len(mail_server.to(me["front_desk"])) == 1 and len(mail_server.to(me["nurse"])) == 1
    assert mail_server.to(me["admin"]) == []
    assert_neutral(mail_server.to(me["nurse"])[0])
    empty = await patient.post("/api/v1/requests", json={"kind": "appointment", "message": " "})
    assert empty.status_code == 400 and empty.json()["field"] == "message"

    answered = await members["front_desk"].patch(
        f"/api/v1/clinic/requests/{sent.json()['id']}",
        json={"status": "done", "reply": "Tuesday 9:00 is yours."},
    )
    assert answered.status_code == 200, answered.text
    [mine] = (await patient.get("/api/v1/requests")).json()
    assert mine["status"] == "done" and mine["reply"] == "Tuesday 9:00 is yours."
    assert mine["replied_by_name"] == "Sam front_desk"
    exported = (await patient.get("/api/v1/me/export")).json()
    assert [r["reply"] for r in exported["clinic_requests"]] == ["Tuesday 9:00 is yours."]
    assert [s["clinic_name"] for s in exported["clinic_shares"]] == ["Riverside Clinic"]
    for each in members.values():
        await each.aclose()


async def test_the_database_rights_match_the_domain_table(pool: db.Pool) -> None:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT role, right_ FROM clinic_role_rights")
    in_database = {(r["role"], r["right_"]) for r in rows}
    from_domain = {
        (role, coarse)
        for coarse, right in DATABASE_RIGHTS.items()
        for role, rights in RIGHTS.items()
        if right in rights
    }
    assert in_database == from_domain


async def test_create_clinic_makes_the_first_admin(settings: Settings, pool: db.Pool) -> None:
    email = unique_email("admin")
    env = {"DATABASE_URL": settings.database_url or "", "AFTERGLOW_ENV": "test"}
    import os

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "create-clinic",
        "--name",
        "Hillside Clinic",
        "--admin-email",
        email,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **env},
    )
    out, err = await process.communicate((PASSWORD + "\n").encode())
    assert process.returncode == 0, err.decode()
    assert out.decode().startswith("created clinic ")
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            """SELECT c.name, m.roles, u.role FROM clinic_members m
                 JOIN clinics c ON c.id = m.clinic_id JOIN users u ON u.id = m.clinician_id
                WHERE u.email = $1""",
            email,
        )
    assert (row["name"], row["roles"], row["role"]) == ("Hillside Clinic", ["admin"], "clinician")


@pytest.mark.parametrize("body", [{"email": "x@example.org"}, {"roles": ["nurse"]}])
async def test_invitation_bodies_are_checked(
    app: Litestar, pool: db.Pool, body: dict[str, Any]
) -> None:
    _, members = await _team(app, pool, "admin")
    response = await members["admin"].post("/api/v1/clinic/invitations", json=body)
    assert response.status_code in (400, 422)
    await members["admin"].aclose()


async def test_the_clinic_pages_render_for_each_role(
    app: Litestar, pool: db.Pool, client_factory: Any
) -> None:
    _, members = await _team(app, pool, "admin", "prescriber", "nurse", "front_desk")
    patient = client_factory()
    patient.me = await register(patient)
    await join_team(patient, members["nurse"])
    pages = (
        "/clinic",
        "/clinic/schedule",
        "/clinic/schedule?view=day",
        "/clinic/requests",
        "/clinic/members",
        "/clinic/settings",
    )
    seen = {}
    for role, client in members.items():
        seen[role] = [(await client.get(page)).status_code for page in pages]
    assert seen == {
        "admin": [200, 200, 200, 403, 200, 200],
        "prescriber": [200, 200, 200, 200, 403, 403],
        "nurse": [200, 200, 200, 200, 403, 403],
        "front_desk": [200, 200, 200, 200, 403, 403],
    }
    schedule = await members["front_desk"].get("/clinic/schedule")
    assert "Test Patient" in schedule.text and 'name="patient"' in schedule.text
    for page in ("/requests", "/sharing"):
        response = await patient.get(page)
        assert response.status_code == 200 and "Riverside Clinic" in response.text
    for each in members.values():
        await each.aclose()


@pytest.mark.parametrize("role", ["nurse", "front_desk"])
async def test_a_booking_by_staff_plans_the_patients_reminders(
    app: Litestar, pool: db.Pool, client_factory: Any, role: str
) -> None:
    _, members = await _team(app, pool, role)
    patient = client_factory()
    patient.me = await register(patient)
    await join_team(patient, members[role])
    pid = uuid.UUID(patient.me["id"])
    async with pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth)
               VALUES ($1, $2, 'k', 'a')""",
            pid,
            f"https://push.example.org/{pid}",
        )
    when = (datetime.now(UTC) + timedelta(hours=30)).replace(microsecond=0)
    booked = await members[role].put(
        f"/api/v1/clinic/schedule/{pid}/{uuid.uuid4()}", json={"scheduled_at": when.isoformat()}
    )
    assert booked.status_code == 200, booked.text
    async with pool.acquire() as conn:
        kinds = {
            r["kind"]
            for r in await conn.fetch(
                "SELECT kind FROM push_outbox WHERE user_id = $1 AND status = 'pending'", pid
            )
        }
    assert {"infusion_day_before", "infusion_two_hours"} <= kinds
    infusions = (await patient.get("/api/v1/infusions")).json()
    [mine] = infusions["items"] if isinstance(infusions, dict) else infusions
    assert mine["status"] == "planned"
    await members[role].aclose()


async def test_the_demo_clinic_has_a_care_team_requests_and_a_schedule(
    pool: db.Pool, client_factory: Any
) -> None:
    from server.demo import DEMO_PASSWORD, TEAM, create_demo_clinic

    async with pool.acquire() as conn:
        await create_demo_clinic(conn)
    signed_in = {}
    for role, _, email in TEAM:
        client = client_factory()
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 200
        signed_in[role] = client
    assert len((await signed_in["nurse"].get("/api/v1/clinic/patients")).json()) == 5
    kinds = {}
    for role, client in signed_in.items():
        inbox = await client.get("/api/v1/clinic/requests")
        kinds[role] = sorted(r["kind"] for r in inbox.json()) if inbox.status_code == 200 else []
    assert kinds.pop("admin") == []  # 403: an admin reads no requests
    assert kinds == {
        "prescriber": ["appointment", "medication"],
        "nurse": ["appointment", "medication"],
        "front_desk": ["appointment"],
    }
    since = (datetime.now(UTC) - timedelta(days=28)).isoformat()
    schedule = await signed_in["front_desk"].get(
        "/api/v1/clinic/schedule", params={"from": since, "days": 31}
    )
    assert schedule.status_code == 200 and len(schedule.json()) >= 1
    assert "notes" not in schedule.text


async def test_unacknowledged_alerts_go_to_the_clinics_on_call_address(
    app: Litestar, pool: db.Pool, client_factory: Any, settings: Settings, mail_server: MailServer
) -> None:
    from server.services import alerts

    _, members = await _team(app, pool, "admin", "nurse")
    on_call = unique_email("on-call")
    saved = await members["admin"].put(
        "/api/v1/clinic/settings", json={"name": "Riverside Clinic", "on_call_email": on_call}
    )
    assert saved.status_code == 200
    patient = client_factory()
    patient.me = await register(patient)
    await join_team(patient, members["nurse"])
    await log_assessment(patient, days_ago(0), "phq9", 14, item9=1)
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE alerts SET raised_at = now() - interval '1 day' WHERE patient_id = $1",
            uuid.UUID(patient.me["id"]),
        )
    nowhere = msgspec.structs.replace(settings, clinic_alert_email=None)
    assert await alerts.escalation_pass(pool, nowhere) >= 1
    await deliver(pool, settings, mail_server)
    [email] = mail_server.to(on_call)
    assert_neutral(email)
    for each in members.values():
        await each.aclose()


async def test_erasing_a_patient_takes_their_team_shares_and_requests(
    app: Litestar, pool: db.Pool, client_factory: Any
) -> None:
    _, members = await _team(app, pool, "nurse")
    patient = client_factory()
    patient.me = await register(patient)
    await join_team(patient, members["nurse"])
    sent = await patient.post("/api/v1/requests", json={"kind": "medication", "message": "Hi"})
    assert sent.status_code == 201
    assert (await patient.delete("/api/v1/me")).status_code == 204
    async with pool.acquire() as conn:
        for table in ("clinic_shares", "clinic_requests"):
            count = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE patient_id = $1", uuid.UUID(patient.me["id"])
            )
            assert count == 0, table
    assert (await members["nurse"].get("/api/v1/clinic/patients")).json() == []
    await members["nurse"].aclose()


async def test_a_patient_invitation_is_made_once_and_reloading_makes_no_second(
    app: Litestar, pool: db.Pool
) -> None:
    _, members = await _team(app, pool, "nurse")
    nurse = members["nurse"]

    async def invitations() -> int:
        async with pool.acquire() as conn:
            count: int = await conn.fetchval("SELECT count(*) FROM clinic_invitations")
            return count

    before = await invitations()
    made = await nurse.post("/clinic/patient-invitations", data={})
    assert made.status_code == 303 and made.headers["location"] == "/clinic/patient-invitation"
    shown = await nurse.get("/clinic/patient-invitation")
    assert shown.status_code == 200 and "/join#token=" in shown.text
    assert await invitations() == before + 1
    # A reload is a GET: no second invitation, and the link is not shown again.
    again = await nurse.get("/clinic/patient-invitation")
    assert again.status_code == 303 and again.headers["location"] == "/clinic"
    assert await invitations() == before + 1
    await nurse.aclose()


async def test_the_item9_safety_response_gives_the_crisis_lines_of_the_clinics_country(
    app: Litestar, pool: db.Pool, client_factory: Any
) -> None:
    _, members = await _team(app, pool, "admin", "front_desk")
    patient = client_factory()
    patient.me = await register(patient)
    await join_team(patient, members["front_desk"])
    item9 = {"instrument": "phq9", "answers": [0] * 8 + [1]}

    async def hrefs_now() -> tuple[list[str], list[str]]:
        taken = {**item9, "taken_at": datetime.now(UTC).isoformat()}
        put = await patient.put(f"/api/v1/assessments/{uuid.uuid4()}", json=taken)
        assert put.status_code == 201, put.text
        synced = await patient.post(
            "/api/v1/sync",
            json={
                "changes": [
                    {
                        "op": "upsert",
                        "kind": "assessment",
                        "id": str(uuid.uuid4()),
                        "updated_at": datetime.now(UTC).isoformat(),
                        "data": taken,
                    }
                ]
            },
        )
        assert synced.status_code == 200, synced.text
        return (
            [r["href"] for r in put.json()["safety"]["resources"]],
            [r["href"] for r in synced.json()["results"][0]["safety"]["resources"]],
        )

    put, synced = await hrefs_now()
    assert put[:3] == synced[:3] == ["tel:988", "sms:988", "tel:911"]
    gb = {"name": "Riverside Clinic", "phone": "+44 20 7946 0000", "country": "GB"}
    assert (await members["admin"].put("/api/v1/clinic/settings", json=gb)).status_code == 200
    put, synced = await hrefs_now()
    assert put == synced == ["tel:116123", "tel:111", "tel:999", "tel:+442079460000"]
    elsewhere = {**gb, "country": "other", "emergency_number": "112", "phone": "+49 30 1234567"}
    assert (
        await members["admin"].put("/api/v1/clinic/settings", json=elsewhere)
    ).status_code == 200
    put, synced = await hrefs_now()
    assert put == synced == ["tel:112", "tel:+49301234567"]
    [listed] = [
        a for a in (await patient.get("/api/v1/assessments")).json()["items"] if a.get("safety")
    ][:1]
    assert [r["href"] for r in listed["safety"]["resources"]] == put
    for each in members.values():
        await each.aclose()
