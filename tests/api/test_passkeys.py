"""Passkeys through the API, answered by a software authenticator (tests/helpers/authenticator.py):
registered by a signed-in account, signing in without a password, each challenge used once and
only for a short while, nothing taken that a browser on another origin signed or that an
authenticator signed without verifying its user; a clinician's passkey is a second factor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar

from server import db
from server.app import create_app
from server.config import Settings
from server.services.lockout import ACCOUNT, PAIR
from tests.helpers.accounts import PASSWORD, make_clinician, register
from tests.helpers.app import running
from tests.helpers.authenticator import Authenticator, add_passkey, passkey_sign_in
from tests.helpers.client import Client
from tests.helpers.mail_server import MailServer, deliver, token_in


def phone(settings: Settings, **how: Any) -> Authenticator:
    return Authenticator(settings.public_url, **how)


async def actions_of(pool: db.Pool, user_id: str) -> list[str]:
    async with db.transaction(pool) as conn:
        rows = await conn.fetch(
            "SELECT action FROM audit_events WHERE actor_id = $1 ORDER BY id", user_id
        )
    return [r["action"] for r in rows]


@pytest.fixture(scope="module")
async def strict_app(settings: Settings) -> AsyncIterator[Litestar]:
    """The app where clinicians must have a second factor (production's default)."""
    async with running(
        create_app(msgspec.structs.replace(settings, clinician_mfa="required"))
    ) as app:
        yield app


async def test_a_patient_signs_in_with_a_passkey_and_no_password(
    patient: Any, client_factory: Any, settings: Settings, pool: db.Pool
) -> None:
    authenticator = phone(settings)
    added = await add_passkey(patient, authenticator, "Sam's phone")
    assert added.status_code == 201, added.text
    assert added.json()["name"] == "Sam's phone"
    listed = (await patient.get("/api/v1/me/passkeys")).json()
    assert [p["name"] for p in listed] == ["Sam's phone"]

    elsewhere = client_factory()
    signed_in = await passkey_sign_in(elsewhere, authenticator)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["id"] == patient.me["id"]
    assert (await elsewhere.get("/api/v1/me")).json()["email"] == patient.me["email"]
    assert (await actions_of(pool, patient.me["id"]))[-2:] == ["passkey_add", "sign_in"]
    # The password still works beside it: a patient's passkey is a way in, not a second step.
    password = await client_factory().post(
        "/api/v1/auth/login", json={"email": patient.me["email"], "password": PASSWORD}
    )
    assert password.status_code == 200 and "mfa_required" not in password.json()


async def test_a_challenge_works_once_and_for_five_minutes(
    patient: Any, client_factory: Any, settings: Settings, pool: db.Pool
) -> None:
    authenticator = phone(settings)
    assert (await add_passkey(patient, authenticator)).status_code == 201
    client = client_factory()
    options = (await client.post("/api/v1/auth/passkey/options")).json()
    answer = authenticator.get(options)
    assert (await client.post("/api/v1/auth/passkey", json=answer)).status_code == 200
    replayed = await client_factory().post("/api/v1/auth/passkey", json=answer)
    assert replayed.status_code == 400
    assert replayed.json()["field"] == "client_data_json"

    late = (await client.post("/api/v1/auth/passkey/options")).json()
    async with db.transaction(pool) as conn:
        await conn.execute(
            "UPDATE passkey_challenges SET expires_at = now() - interval '1 second'"
            " WHERE purpose = 'sign_in'"
        )
    expired = await client.post("/api/v1/auth/passkey", json=authenticator.get(late))
    assert expired.status_code == 400


async def test_nothing_signed_elsewhere_or_without_the_user_is_taken(
    patient: Any, client_factory: Any, settings: Settings
) -> None:
    authenticator = phone(settings, counts=True)
    assert (await add_passkey(patient, authenticator)).status_code == 201
    client = client_factory()

    phished = await passkey_sign_in(client, authenticator, origin="https://afterglow.example.net")
    assert phished.status_code == 401
    authenticator.verifies_user = False  # a tap, no fingerprint or PIN
    unverified = await passkey_sign_in(client, authenticator)
    assert unverified.status_code == 401
    authenticator.verifies_user = True
    assert (await passkey_sign_in(client, authenticator)).status_code == 200
    cloned = await passkey_sign_in(client_factory(), authenticator, repeat_count=True)
    assert cloned.status_code == 401
    assert (await client_factory().get("/api/v1/me")).status_code == 401

    unknown = phone(settings)
    unknown.create((await patient.post("/api/v1/me/passkeys/options")).json())  # never sent
    assert (await passkey_sign_in(client_factory(), unknown)).status_code == 401


async def test_a_passkey_made_without_user_verification_is_not_kept(
    patient: Any, settings: Settings
) -> None:
    authenticator = phone(settings)
    authenticator.verifies_user = False
    refused = await add_passkey(patient, authenticator)
    assert refused.status_code == 400
    assert (await patient.get("/api/v1/me/passkeys")).json() == []


async def test_one_accounts_challenge_is_not_anothers(
    patient: Any, client_factory: Any, settings: Settings
) -> None:
    other = client_factory()
    await register(other)
    options = (await patient.post("/api/v1/me/passkeys/options")).json()
    made = phone(settings).create(options)
    stolen = await other.post("/api/v1/me/passkeys", json=made)
    assert stolen.status_code == 400
    assert stolen.json()["field"] == "client_data_json"


async def test_adding_or_removing_a_passkey_asks_for_a_recent_proof(
    patient: Any, settings: Settings, pool: db.Pool
) -> None:
    authenticator = phone(settings)
    added = (await add_passkey(patient, authenticator)).json()

    async with db.transaction(pool) as conn:  # signed in an hour ago, nothing proved since
        await conn.execute(
            "UPDATE sessions SET reauthenticated_at = now() - interval '1 hour' WHERE user_id = $1",
            patient.me["id"],
        )
    stale = await patient.post("/api/v1/me/passkeys/options")
    assert stale.status_code == 403
    assert stale.json()["type"].endswith("reauthentication-required")
    removing = await patient.delete(f"/api/v1/me/passkeys/{added['id']}")
    assert removing.status_code == 403

    options = await patient.post("/api/v1/auth/reauthenticate/passkey/options")
    assert options.status_code == 200, options.text
    proof = authenticator.get(options.json())
    assert (
        await patient.post("/api/v1/auth/reauthenticate/passkey", json=proof)
    ).status_code == 204
    assert (await patient.delete(f"/api/v1/me/passkeys/{added['id']}")).status_code == 204
    assert (await patient.get("/api/v1/me/passkeys")).json() == []
    assert (await actions_of(pool, patient.me["id"]))[-1] == "passkey_remove"


async def test_the_tables_are_closed_to_requests(app: Litestar) -> None:
    async with db.request_scope(), db.connection(app.state.pool) as conn:
        for table in ("passkeys", "passkey_challenges"):
            allowed = await conn.fetchval(
                "SELECT has_table_privilege(current_user, $1, 'SELECT, INSERT, UPDATE, DELETE')",
                table,
            )
            assert allowed is False, table


async def test_a_clinicians_passkey_is_a_second_factor(
    strict_app: Litestar, settings: Settings, pool: db.Pool
) -> None:
    clinician = Client(strict_app)
    me = await make_clinician(pool, clinician)
    assert (await clinician.get("/api/v1/clinician/patients")).status_code == 403  # none yet

    authenticator = phone(settings)
    assert (await add_passkey(clinician, authenticator)).status_code == 201
    assert (await clinician.get("/api/v1/clinician/patients")).status_code == 200

    # The password alone now opens only the second step ...
    by_password = Client(strict_app)
    first = await by_password.post(
        "/api/v1/auth/login", json={"email": me["email"], "password": PASSWORD}
    )
    assert first.json() == {"mfa_required": True}
    assert (await by_password.get("/api/v1/clinician/patients")).status_code == 401
    # ... which the passkey passes, as it signs in on its own, with no code asked.
    second = await passkey_sign_in(by_password, authenticator)
    assert second.status_code == 200 and second.json()["id"] == me["id"]
    assert (await by_password.get("/api/v1/clinician/patients")).status_code == 200

    passkey_only = Client(strict_app)
    assert (await passkey_sign_in(passkey_only, authenticator)).status_code == 200
    assert (await passkey_only.get("/api/v1/clinician/patients")).status_code == 200
    for client in (clinician, by_password, passkey_only):
        await client.aclose()


async def test_a_sign_in_link_leads_to_the_passkey_step(
    strict_app: Litestar, settings: Settings, pool: db.Pool, mail_server: MailServer
) -> None:
    """The link mailed after a lockout stands in for the password, not for the second factor."""
    clinician = Client(strict_app)
    me = await make_clinician(pool, clinician)
    authenticator = phone(settings)
    assert (await add_passkey(clinician, authenticator)).status_code == 201
    for n in range(ACCOUNT.free // PAIR.free):  # locked by guesses from ten places
        guesser = Client(strict_app, f"127.89.{n}.1")
        for _ in range(PAIR.free):
            wrong = await guesser.post(
                "/api/v1/auth/login", json={"email": me["email"], "password": "not it at all"}
            )
            assert wrong.status_code == 401
        await guesser.aclose()
    await deliver(pool, settings, mail_server)
    token = token_in(mail_server.to(me["email"])[-1])

    by_link = Client(strict_app)
    entered = await by_link.post("/api/v1/auth/login/link", json={"token": token})
    assert entered.status_code == 200, entered.text
    assert entered.json() == {"mfa_required": True}
    assert (await by_link.get("/api/v1/me")).status_code == 401
    assert (await passkey_sign_in(by_link, authenticator)).status_code == 200
    assert (await by_link.get("/api/v1/clinician/patients")).status_code == 200
    for client in (clinician, by_link):
        await client.aclose()


async def test_the_operators_reset_removes_a_lost_passkey_too(
    strict_app: Litestar, settings: Settings, pool: db.Pool
) -> None:
    """A clinician who lost the phone their passkey is on: `python -m server reset-mfa` (here
    its service, as the tables' owner) leaves no second factor, so the password signs in again."""
    from server.services import mfa

    clinician = Client(strict_app)
    me = await make_clinician(pool, clinician)
    lost = phone(settings)
    assert (await add_passkey(clinician, lost)).status_code == 201
    await mfa.reset(pool, me["email"])

    assert (await clinician.get("/api/v1/me")).status_code == 401  # every session ended
    assert (await passkey_sign_in(Client(strict_app), lost)).status_code == 401
    again = await clinician.post(
        "/api/v1/auth/login", json={"email": me["email"], "password": PASSWORD}
    )
    assert again.status_code == 200 and again.json()["id"] == me["id"]
    await clinician.aclose()


async def test_sign_in_challenges_asked_for_are_counted_per_address(client_factory: Any) -> None:
    """Anyone may ask for a challenge to sign in, and each one is stored: not without limit."""
    asker = client_factory("127.90.0.1")
    for _ in range(60):
        assert (await asker.post("/api/v1/auth/passkey/options")).status_code == 200
    refused = await asker.post("/api/v1/auth/passkey/options")
    assert refused.status_code == 429
    assert (await client_factory("127.90.0.2").post("/api/v1/auth/passkey/options")).is_success
