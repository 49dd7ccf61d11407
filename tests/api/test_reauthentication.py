"""Re-authentication: deleting the account, changing the password and removing a second factor
ask for a password or a code within the last five minutes (signing in counts); the check of a
typed password is throttled; a password change goes on under a new session token; each writes
an audit row."""

from __future__ import annotations

from typing import Any

from server import db
from server.security import SESSION_COOKIE
from tests.helpers.accounts import PASSWORD, register, unique_email
from tests.helpers.second_factor import (
    age_reauthentication,
    allow_codes_again,
    code_at,
    enrol,
    sign_in,
    step_now,
)
from tests.helpers.sharing import audit_rows

NEW_PASSWORD = "a whole new secret"


def _asks_to_reauthenticate(response: Any) -> bool:
    return response.status_code == 403 and response.json()["type"].endswith(
        "/reauthentication-required"
    )


async def test_deleting_the_account_needs_a_recent_proof(patient: Any, pool: db.Pool) -> None:
    await age_reauthentication(pool, patient)
    assert _asks_to_reauthenticate(await patient.delete("/api/v1/me"))
    assert (await patient.get("/api/v1/me")).status_code == 200  # nothing erased

    wrong = await patient.post("/api/v1/auth/reauthenticate", json={"password": "not it at all"})
    assert wrong.status_code == 400 and wrong.json()["field"] == "password"
    proof = await patient.post("/api/v1/auth/reauthenticate", json={"password": PASSWORD})
    assert proof.status_code == 204, proof.text
    assert (await patient.delete("/api/v1/me")).status_code == 204
    async with pool.acquire() as conn:
        erased = await conn.fetchval(
            "SELECT count(*) FROM audit_events WHERE action = 'account_delete' "
            "AND detail ? 'disclosures' AND at > now() - interval '1 minute'"
        )
    assert erased >= 1


async def test_a_proof_lasts_five_minutes(patient: Any, pool: db.Pool) -> None:
    assert (
        await patient.post("/api/v1/auth/reauthenticate", json={"password": PASSWORD})
    ).status_code == 204
    await age_reauthentication(pool, patient, minutes=4)
    assert not _asks_to_reauthenticate(
        await patient.post("/api/v1/auth/password", json={"new_password": NEW_PASSWORD})
    )
    await age_reauthentication(pool, patient, minutes=6)
    assert _asks_to_reauthenticate(
        await patient.post("/api/v1/auth/password", json={"new_password": "yet another one!"})
    )


async def test_a_password_change_proves_itself_and_gets_a_new_token(
    client_factory: Any, pool: db.Pool
) -> None:
    phone, laptop = client_factory(), client_factory()
    email = unique_email()
    me = await register(phone, email=email)
    await sign_in(laptop, email, PASSWORD)
    await age_reauthentication(pool, phone)
    old = phone.cookies[SESSION_COOKIE]

    assert _asks_to_reauthenticate(
        await phone.post("/api/v1/auth/password", json={"new_password": NEW_PASSWORD})
    )
    changed = await phone.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 204, changed.text
    assert phone.cookies[SESSION_COOKIE] != old
    assert (await phone.get("/api/v1/me")).status_code == 200
    stale = client_factory()
    stale.cookies.set(SESSION_COOKIE, old)
    assert (await stale.get("/api/v1/me")).status_code == 401  # whoever copied the old cookie
    assert (await laptop.get("/api/v1/me")).status_code == 401
    assert len(await audit_rows(pool, me["id"], "password_change")) == 1


async def test_the_current_password_check_is_throttled(patient: Any) -> None:
    statuses = []
    for _ in range(6):
        response = await patient.post(
            "/api/v1/auth/password",
            json={"current_password": "wrong wrong wrong", "new_password": NEW_PASSWORD},
        )
        statuses.append(response.status_code)
    assert statuses[:5] == [400] * 5 and statuses[5] == 429
    right = await patient.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert right.status_code == 429  # the right one waits too: guesses are not free


async def test_removing_the_app_needs_a_recent_proof_by_password_or_code(
    patient: Any, pool: db.Pool
) -> None:
    secret, _ = await enrol(patient)
    await age_reauthentication(pool, patient)
    assert _asks_to_reauthenticate(await patient.delete("/api/v1/auth/mfa/totp"))

    reused = await patient.post(
        "/api/v1/auth/reauthenticate", json={"code": code_at(secret, step_now())}
    )
    assert reused.status_code == 400  # the code that confirmed the app was taken
    await allow_codes_again(pool, patient.me["id"])
    by_code = await patient.post(
        "/api/v1/auth/reauthenticate", json={"code": code_at(secret, step_now())}
    )
    assert by_code.status_code == 204, by_code.text
    assert (await patient.delete("/api/v1/auth/mfa/totp")).status_code == 204
    assert (await patient.get("/api/v1/auth/mfa")).json()["totp"] is False
    assert len(await audit_rows(pool, patient.me["id"], "second_factor_remove")) == 1
    # Without it, the password alone signs in again.
    again = await sign_in(patient, patient.me["email"], PASSWORD)
    assert again.json()["id"] == patient.me["id"]
