"""Email verification, on (production's default) and off (dev and tests): with it on, sign-up
answers "check your email" for a new and a taken address alike and sign-in waits for the link;
with it off, sign-up signs in at once but is throttled per client address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar

from server import db
from server.app import create_app
from server.config import Settings
from server.security import SESSION_COOKIE
from tests.helpers.accounts import PASSWORD, register, unique_email
from tests.helpers.app import running
from tests.helpers.client import Client
from tests.helpers.mail_server import MailServer, assert_neutral, deliver, link_in, token_in


@pytest.fixture(scope="module")
async def verifying_app(settings: Settings) -> AsyncIterator[Litestar]:
    """The app as production runs it: AFTERGLOW_REQUIRE_VERIFIED_EMAIL=1."""
    verifying = msgspec.structs.replace(settings, require_verified_email=True)
    async with running(create_app(verifying)) as application:
        yield application


def _sign_up(email: str) -> dict[str, str]:
    return {
        "email": email,
        "password": PASSWORD,
        "display_name": "Robin",
        "timezone": "Europe/Paris",
    }


async def _sign_in(client: Client, email: str) -> Any:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})


async def test_sign_up_answers_the_same_for_a_new_and_a_taken_address(
    verifying_app: Litestar,
    client_factory: Any,
    pool: db.Pool,
    settings: Settings,
    mail_server: MailServer,
) -> None:
    taken = unique_email()
    owner = await register(client_factory(), email=taken)  # signed up before, verification off
    new = unique_email()
    client = Client(verifying_app)

    for_new = await client.post("/api/v1/auth/register", json=_sign_up(new))
    for_taken = await client.post("/api/v1/auth/register", json=_sign_up(taken))

    assert for_new.status_code == for_taken.status_code == 202
    assert for_new.content == for_taken.content
    assert "check your email" in for_new.json()["detail"].lower()
    for response in (for_new, for_taken):
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert (await client.get("/api/v1/me")).status_code == 401

    await deliver(pool, settings, mail_server)
    [confirm] = mail_server.to(new)
    [tried] = mail_server.to(taken)
    assert link_in(confirm).startswith(f"{settings.public_url}/verify#token=")
    assert "tried" in str(tried["Subject"])
    assert f"{settings.public_url}/forgot" in tried.get_content()
    for message in (confirm, tried):
        assert_neutral(message)
    async with db.connection(pool) as conn:
        accounts = await conn.fetch("SELECT id FROM users WHERE lower(email) = lower($1)", taken)
    assert [str(a["id"]) for a in accounts] == [owner["id"]]  # the owner's, unchanged


async def test_sign_in_waits_for_the_link_which_works_once(
    verifying_app: Litestar, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    email = unique_email()
    client = Client(verifying_app)
    assert (await client.post("/api/v1/auth/register", json=_sign_up(email))).status_code == 202

    waiting = await _sign_in(client, email)
    assert waiting.status_code == 403
    assert "confirm your email" in waiting.json()["detail"].lower()
    assert SESSION_COOKIE not in waiting.headers.get("set-cookie", "")
    await deliver(pool, settings, mail_server)
    [message] = mail_server.to(email)  # the sign-in did not send a second link at once
    token = token_in(message)

    assert (await client.post("/api/v1/auth/verify", json={"token": token})).status_code == 204
    again = await client.post("/api/v1/auth/verify", json={"token": token})
    assert again.status_code == 400 and again.json()["field"] == "token"
    signed_in = await _sign_in(client, email)
    assert signed_in.status_code == 200, signed_in.text
    assert (await client.get("/api/v1/me")).json()["email"] == email


async def test_a_reset_link_confirms_the_address_too(
    verifying_app: Litestar, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    """Whoever registered an address first (perhaps not its owner) is no obstacle: the owner
    resets the password through their mailbox, which also confirms the address."""
    email = unique_email()
    client = Client(verifying_app)
    await client.post("/api/v1/auth/register", json=_sign_up(email))
    await client.post("/api/v1/auth/password-reset", json={"email": email})
    await deliver(pool, settings, mail_server)
    reset = next(m for m in mail_server.to(email) if "/reset#" in m.get_content())
    confirmed = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token_in(reset), "password": "the owner's own passphrase"},
    )
    assert confirmed.status_code == 204
    signed_in = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": "the owner's own passphrase"}
    )
    assert signed_in.status_code == 200


async def test_without_verification_sign_up_signs_in_and_taken_addresses_are_throttled(
    client_factory: Any, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    """Off, sign-up tells whether an address has an account (409), as it always did: so those
    answers are throttled per client address. New accounts are not (a clinic's network, a
    carrier's shared address)."""
    assert not settings.require_verified_email  # the test default, as in dev
    address = "10.77.0.1"
    made = []
    for _ in range(25):
        response = await client_factory(address).post(
            "/api/v1/auth/register", json=_sign_up(unique_email())
        )
        assert response.status_code == 201, response.text
        assert SESSION_COOKIE in response.headers["set-cookie"]
        made.append(response.json()["email"])
    for email in made[:20]:
        taken = await client_factory(address).post("/api/v1/auth/register", json=_sign_up(email))
        assert taken.status_code == 409
    for email in (made[20], unique_email()):
        refused = await client_factory(address).post("/api/v1/auth/register", json=_sign_up(email))
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
    elsewhere = await client_factory("10.77.0.2").post(
        "/api/v1/auth/register", json=_sign_up(unique_email())
    )
    assert elsewhere.status_code == 201
    await deliver(pool, settings, mail_server)
    assert all(mail_server.to(email) == [] for email in made)  # no mail without verification


async def test_with_verification_every_sign_up_counts_whatever_the_address(
    verifying_app: Litestar, client_factory: Any
) -> None:
    taken = unique_email()
    await register(client_factory(), email=taken)
    answers = []
    for n in range(21):
        client = Client(verifying_app, "10.78.0.1")
        email = taken if n % 2 else unique_email()
        answers.append(
            (await client.post("/api/v1/auth/register", json=_sign_up(email))).status_code
        )
    assert answers == [202] * 20 + [429]
