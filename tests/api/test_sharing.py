"""Sharing: codes, acceptance, revocation, throttling, and the audit trail the patient sees."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from server import db
from server.domain.sharing import ALPHABET, normalise_code
from tests.helpers.accounts import make_clinician, register
from tests.helpers.sharing import audit_rows, make_code, share


async def test_a_code_is_grouped_unambiguous_and_expires_in_72_hours(patient: Any) -> None:
    made = await make_code(patient)
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}", made["code"])
    assert all(ch in ALPHABET for ch in made["code"].replace("-", ""))
    assert not set("ILOU") & set(made["code"])
    listed = (await patient.get("/api/v1/shares")).json()
    assert [(s["id"], s["status"], s["clinician"]) for s in listed] == [
        (made["id"], "pending", None)
    ]
    created, expires = listed[0]["created_at"], made["expires_at"]
    hours = (datetime.fromisoformat(expires) - datetime.fromisoformat(created)).total_seconds()
    assert round(hours / 3600) == 72


async def test_only_the_hash_of_a_code_is_stored(patient: Any, pool: db.Pool) -> None:
    made = await make_code(patient)
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM shares WHERE id = $1", uuid.UUID(made["id"]))
    stored = " ".join(str(v) for v in dict(row).values())
    assert normalise_code(made["code"]) not in stored
    assert made["code"] not in stored


async def test_accept_binds_the_clinician_and_both_see_it(patient: Any, clinician: Any) -> None:
    made = await make_code(patient)
    # Read aloud and typed loosely: lower case, spaces, O for 0 and I/L for 1 all work.
    typed = made["code"].lower().replace("-", " ").replace("0", "o").replace("1", "l")
    response = await clinician.post("/api/v1/shares/accept", json={"code": typed})
    assert response.status_code == 200, response.text
    accepted = response.json()
    assert accepted["status"] == "active"
    assert accepted["patient"]["id"] == patient.me["id"]

    mine = (await patient.get("/api/v1/shares")).json()
    assert [(s["status"], s["clinician"]["id"]) for s in mine] == [("active", clinician.me["id"])]
    assert mine[0]["accepted_at"] is not None
    theirs = (await clinician.get("/api/v1/shares")).json()
    assert [(s["status"], s["patient"]["display_name"]) for s in theirs] == [
        ("active", "Test Patient")
    ]


async def test_a_used_code_cannot_be_used_again(
    patient: Any, clinician: Any, client_factory: Any, pool: db.Pool
) -> None:
    made = await make_code(patient)
    first = await clinician.post("/api/v1/shares/accept", json={"code": made["code"]})
    assert first.status_code == 200
    other = client_factory()
    await make_clinician(pool, other, "Dr. Other")
    again = await other.post("/api/v1/shares/accept", json={"code": made["code"]})
    assert again.status_code == 404
    assert again.json()["field"] == "code"
    same = await clinician.post("/api/v1/shares/accept", json={"code": made["code"]})
    assert same.status_code == 404


async def test_an_expired_or_withdrawn_code_is_refused(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    expired = await make_code(patient)
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE shares SET expires_at = now() - interval '1 second' WHERE id = $1",
            uuid.UUID(expired["id"]),
        )
    response = await clinician.post("/api/v1/shares/accept", json={"code": expired["code"]})
    assert response.status_code == 404
    assert [s["id"] for s in (await patient.get("/api/v1/shares")).json()] == []

    withdrawn = await make_code(patient)
    assert (await patient.delete(f"/api/v1/shares/{withdrawn['id']}")).status_code == 204
    response = await clinician.post("/api/v1/shares/accept", json={"code": withdrawn["code"]})
    assert response.status_code == 404


async def test_revocation_holds_on_the_very_next_request(patient: Any, clinician: Any) -> None:
    share_id = await share(patient, clinician)
    summary = f"/api/v1/patients/{patient.me['id']}/summary"
    assert (await clinician.get(summary)).status_code == 200
    assert (await patient.delete(f"/api/v1/shares/{share_id}")).status_code == 204
    assert (await clinician.get(summary)).status_code == 404
    assert (await clinician.get("/clinician/patients/" + patient.me["id"])).status_code == 404
    assert (await clinician.get("/api/v1/shares")).json() == []
    assert (await patient.get("/api/v1/shares")).json() == []
    # Revoking twice, or someone else's share, is "no such share".
    assert (await patient.delete(f"/api/v1/shares/{share_id}")).status_code == 404
    assert (await patient.delete(f"/api/v1/shares/{uuid.uuid4()}")).status_code == 404
    assert (await patient.delete("/api/v1/shares/not-a-uuid")).status_code == 404


async def test_guessing_codes_is_throttled(patient: Any, clinician: Any) -> None:
    real = await make_code(patient)
    for n in range(10):
        wrong = f"AAAA-AAAA-{n:02d}"
        response = await clinician.post("/api/v1/shares/accept", json={"code": wrong})
        assert response.status_code == 404, (n, response.text)
    response = await clinician.post("/api/v1/shares/accept", json={"code": real["code"]})
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 15 * 60
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_malformed_code_is_a_400_naming_the_field(clinician: Any) -> None:
    for typed in ("", "ABC", "UUUU-UUUU-UU", "ABCD-EFGH-JK-MN"):
        response = await clinician.post("/api/v1/shares/accept", json={"code": typed})
        assert response.status_code == 400, typed
        assert response.json()["field"] == "code"
    response = await clinician.post("/api/v1/shares/accept", json={"code": "x", "extra": 1})
    assert response.status_code == 400


async def test_roles(patient: Any, clinician: Any) -> None:
    made = await make_code(patient)
    assert (await clinician.post("/api/v1/shares", json=None)).status_code == 403
    response = await patient.post("/api/v1/shares/accept", json={"code": made["code"]})
    assert response.status_code == 403
    assert (await clinician.get("/api/v1/me/access-log")).status_code == 403


async def test_anonymous_is_401(client_factory: Any) -> None:
    anonymous = client_factory()
    assert (await anonymous.post("/api/v1/shares", json=None)).status_code == 401
    assert (await anonymous.get("/api/v1/shares")).status_code == 401
    assert (await anonymous.get("/api/v1/me/access-log")).status_code == 401


async def test_a_clinician_cannot_accept_a_second_code_from_the_same_patient(
    patient: Any, clinician: Any
) -> None:
    await share(patient, clinician)
    second = await make_code(patient)
    response = await clinician.post("/api/v1/shares/accept", json={"code": second["code"]})
    assert response.status_code == 409


async def test_a_shorter_lifetime_can_be_asked_for(patient: Any) -> None:
    made = await make_code(patient, expires_in_hours=2)
    listed = (await patient.get("/api/v1/shares")).json()[0]
    delta = datetime.fromisoformat(made["expires_at"]) - datetime.fromisoformat(
        listed["created_at"]
    )
    assert round(delta.total_seconds() / 3600) == 2
    response = await patient.post("/api/v1/shares", json={"expires_in_hours": 1000})
    assert response.status_code == 400


async def test_sharing_and_sign_in_are_in_the_access_log(
    client_factory: Any, clinician: Any, pool: db.Pool
) -> None:
    patient = client_factory()
    me = await register(patient)
    # A fresh sign-in: the log shows it.
    response = await patient.post(
        "/api/v1/auth/login", json={"email": me["email"], "password": "correct horse battery"}
    )
    assert response.status_code == 200
    share_id = await share(patient, clinician)
    assert (await patient.delete(f"/api/v1/shares/{share_id}")).status_code == 204

    log = (await patient.get("/api/v1/me/access-log")).json()
    actions = [(e["action"], e["actor"]["role"]) for e in log["items"]]
    assert actions == [
        ("share_revoke", "patient"),
        ("share_accept", "clinician"),
        ("share_create", "patient"),
        ("sign_in", "patient"),
    ]
    accept = log["items"][1]
    assert accept["actor"]["name"] == "Dr. Test"
    assert accept["address"] == clinician.address
    assert accept["detail"] == {"share_id": share_id}
    # Pages of the log.
    page = (await patient.get("/api/v1/me/access-log", params={"limit": 3})).json()
    assert len(page["items"]) == 3 and page["next"] is not None
    rest = (
        await patient.get("/api/v1/me/access-log", params={"limit": 3, "before": page["next"]})
    ).json()
    assert [e["action"] for e in rest["items"]] == ["sign_in"] and rest["next"] is None


async def test_the_audit_trail_is_append_only_but_erased_with_the_patient(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    await share(patient, clinician)
    rows = await audit_rows(pool, patient.me["id"])
    assert len(rows) == 2
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE audit_events SET address = 'x' WHERE id = $1", rows[0]["id"])
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM audit_events WHERE id = $1", rows[0]["id"])
    assert len(await audit_rows(pool, patient.me["id"])) == 2
    assert (await patient.delete("/api/v1/me")).status_code == 204
    assert await audit_rows(pool, patient.me["id"]) == []
    async with pool.acquire() as conn:
        left = await conn.fetchval(
            "SELECT count(*) FROM shares WHERE patient_id = $1", uuid.UUID(patient.me["id"])
        )
    assert left == 0


async def test_the_patients_own_export_holds_shares_and_the_access_log(
    patient: Any, clinician: Any
) -> None:
    share_id = await share(patient, clinician)
    document = (await patient.get("/api/v1/me/export")).json()
    assert [s["id"] for s in document["shares"]] == [share_id]
    assert [e["action"] for e in document["access_log"]] == ["share_create", "share_accept"]
