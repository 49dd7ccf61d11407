"""Sign-in throttling that cannot be used to lock someone out (services/lockout.py): wrong
passwords count per (account, address) with waits that grow, against a much higher ceiling per
account; a locked account's owner is mailed a link that signs them in once; and every attempt is
counted before its password is checked, so guesses sent all at once get no more tries than the
same guesses one after another."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server import db
from server.config import Settings
from server.services.lockout import ACCOUNT, PAIR, Keys
from tests.helpers.accounts import PASSWORD, register, unique_email
from tests.helpers.database import create_owned_database, drop_owned_database
from tests.helpers.live_server import LiveServer, signed_in_patient
from tests.helpers.mail_server import MailServer, deliver, link_in, token_in

WRONG = "not the password at all"


@pytest.fixture(scope="module")
async def own_database(server_url: str) -> AsyncIterator[str]:
    """A database for the live server alone: its clients all come from 127.0.0.1."""
    name = f"afterglow_lockout_{secrets.token_hex(4)}"
    yield await create_owned_database(server_url, name)
    await drop_owned_database(server_url, name)


@pytest.fixture(scope="module")
def proxied(own_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``python -m server serve`` behind a proxy on this machine, so a test can say which
    address each request comes from (X-Forwarded-For)."""
    data: Path = tmp_path_factory.mktemp("lockout")
    env = {"AFTERGLOW_FORWARDED_ALLOW_IPS": "127.0.0.1, ::1"}
    with LiveServer(own_database, data, env=env) as server:
        yield server


async def sign_in(client: Any, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def use_link(client: Any, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login/link", json={"token": token})


async def lock(client_factory: Any, email: str) -> None:
    """Wrong passwords up to the account's ceiling, from as many addresses as that takes."""
    for n in range(ACCOUNT.free // PAIR.free):
        guesser = client_factory(f"127.88.{n}.1")
        for _ in range(PAIR.free):
            assert (await sign_in(guesser, email, WRONG)).status_code == 401


async def failures_of(pool: db.Pool, account: str) -> list[str]:
    async with db.transaction(pool) as conn:
        rows = await conn.fetch(
            """SELECT action FROM audit_events
                WHERE detail->>'account' = $1 AND action LIKE 'sign_in_%' ORDER BY id""",
            account,
        )
    return [r["action"] for r in rows]


async def test_wrong_passwords_from_elsewhere_do_not_stop_the_owner(
    client_factory: Any,
) -> None:
    email = unique_email()
    await register(client_factory(), email=email)
    attacker = client_factory("127.81.0.1")
    for _ in range(5):
        assert (await sign_in(attacker, email, WRONG)).status_code == 401
    stopped = await sign_in(attacker, email, PASSWORD)  # the right one, from there, waits too
    assert stopped.status_code == 429
    assert stopped.headers["retry-after"] == "60"
    for n in range(5):  # five more, from five other places
        assert (await sign_in(client_factory(f"127.81.1.{n + 1}"), email, WRONG)).status_code == 401

    owner = client_factory("127.81.2.1")
    signed_in = await sign_in(owner, email, PASSWORD)
    assert signed_in.status_code == 200, signed_in.text
    assert (await owner.get("/api/v1/me")).json()["email"] == email


async def test_the_wait_doubles_with_each_wrong_password_and_a_right_one_forgets_them(
    client_factory: Any, pool: db.Pool
) -> None:
    email = unique_email()
    await register(client_factory(), email=email)
    guesser = client_factory("127.82.0.1")

    async def waited() -> None:  # as if the wait were over: the last attempt made that long ago
        async with db.transaction(pool) as conn:
            await conn.execute(
                """UPDATE sign_in_attempts SET last_at = last_at - interval '1 hour',
                          since = since - interval '1 hour'
                    WHERE key LIKE 'pair:%@127.82.0.1'"""
            )

    for _ in range(5):
        assert (await sign_in(guesser, email, WRONG)).status_code == 401
    waits = []
    for _ in range(4):
        refused = await sign_in(guesser, email, WRONG)
        assert refused.status_code == 429
        waits.append(int(refused.headers["retry-after"]))
        await waited()
        assert (await sign_in(guesser, email, WRONG)).status_code == 401
    assert waits == [60, 120, 240, 480]
    await waited()
    assert (await sign_in(guesser, email, PASSWORD)).status_code == 200
    # Forgotten: five tries again before any wait.
    for _ in range(5):
        assert (await sign_in(guesser, email, WRONG)).status_code == 401
    assert (await sign_in(guesser, email, WRONG)).status_code == 429


async def test_forty_guesses_at_once_get_no_more_tries_than_forty_in_a_row(
    client_factory: Any, pool: db.Pool
) -> None:
    at_once, in_a_row = unique_email(), unique_email()
    first = await register(client_factory(), email=at_once)
    await register(client_factory(), email=in_a_row)

    burst = client_factory("127.83.0.1")
    answers = await asyncio.gather(*(sign_in(burst, at_once, WRONG) for _ in range(40)))
    sequential = client_factory("127.83.0.2")
    one_by_one = [await sign_in(sequential, in_a_row, WRONG) for _ in range(40)]

    statuses = sorted(r.status_code for r in answers)
    assert statuses == sorted(r.status_code for r in one_by_one) == [401] * 5 + [429] * 35
    trail = sorted(await failures_of(pool, first["id"]))  # in the order the burst's ends came
    assert trail == ["sign_in_blocked"] + ["sign_in_failed"] * 5
    # Even the right password, in the same burst, is refused once the tries are used.
    late = await sign_in(burst, at_once, PASSWORD)
    assert late.status_code == 429


async def test_the_ceiling_holds_against_a_burst_from_many_addresses(
    client_factory: Any, pool: db.Pool, settings: Settings
) -> None:
    email = unique_email()
    await register(client_factory(), email=email)
    guessers = [client_factory(f"127.84.{n // 250}.{n % 250 + 1}") for n in range(60)]
    answers = await asyncio.gather(*(sign_in(g, email, WRONG) for g in guessers))
    assert sorted(r.status_code for r in answers) == [401] * ACCOUNT.free + [429] * 10
    account = Keys.of(settings, email, "anywhere").account
    async with db.transaction(pool) as conn:
        counted = await conn.fetchval(
            "SELECT attempts FROM sign_in_attempts WHERE key = $1", account
        )
    assert counted == ACCOUNT.free


async def test_a_locked_account_is_mailed_a_link_that_signs_in_once(
    client_factory: Any, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    email = unique_email()
    me = await register(client_factory(), email=email)
    await lock(client_factory, email)

    owner = client_factory("127.85.0.1")
    refused = await sign_in(owner, email, PASSWORD)  # from anywhere, the owner's phone too
    assert refused.status_code == 429
    assert 3000 < int(refused.headers["retry-after"]) <= 3600
    assert "emailed it a link to sign in" in refused.json()["detail"]

    await deliver(pool, settings, mail_server)
    [message] = mail_server.to(email)  # one, however many refusals
    assert link_in(message).startswith(f"{settings.public_url}/login#token=")
    assert "30 minutes" in str(message.get_body(("plain",)))
    token = token_in(message)

    phone = client_factory("127.85.0.2")
    entered = await use_link(phone, token)
    assert entered.status_code == 200, entered.text
    assert entered.json()["id"] == me["id"]
    assert (await phone.get("/api/v1/me")).status_code == 200
    again = await use_link(client_factory("127.85.0.3"), token)
    assert again.status_code == 400
    assert again.json()["field"] == "token"
    # The link let its owner in; password sign-in stays paused until the hour is over.
    assert (await sign_in(client_factory("127.85.0.4"), email, PASSWORD)).status_code == 429


async def test_a_sign_in_link_expires(
    client_factory: Any, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    email = unique_email()
    me = await register(client_factory(), email=email)
    await lock(client_factory, email)
    await deliver(pool, settings, mail_server)
    token = token_in(mail_server.to(email)[-1])
    async with db.transaction(pool) as conn:
        await conn.execute(
            """UPDATE account_tokens SET expires_at = now() - interval '1 second'
                WHERE user_id = $1 AND purpose = 'sign_in'""",
            me["id"],
        )
    expired = await use_link(client_factory(), token)
    assert expired.status_code == 400
    assert expired.json()["field"] == "token"


async def test_an_unknown_address_is_locked_the_same_way_and_mails_nobody(
    client_factory: Any, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    known, unknown = unique_email(), unique_email("nobody")
    await register(client_factory(), email=known)
    await lock(client_factory, known)
    await lock(client_factory, unknown)
    for_known = await sign_in(client_factory("127.86.0.1"), known, WRONG)
    for_unknown = await sign_in(client_factory("127.86.0.2"), unknown, WRONG)
    assert for_known.status_code == for_unknown.status_code == 429
    assert for_known.json()["detail"] == for_unknown.json()["detail"]
    await deliver(pool, settings, mail_server)
    assert len(mail_server.to(known)) == 1
    assert mail_server.to(unknown) == []


async def test_a_made_up_link_is_refused_and_counted(client_factory: Any) -> None:
    prober = client_factory("127.87.0.1")
    for _ in range(20):
        made_up = await use_link(prober, "A" * 43)
        assert made_up.status_code == 400
    assert (await use_link(prober, "A" * 43)).status_code == 429


async def test_a_burst_against_a_live_server_gets_no_extra_tries(proxied: LiveServer) -> None:
    email = unique_email()
    owner = await signed_in_patient(proxied.url, email, PASSWORD)
    await owner.post("/api/v1/auth/logout")
    attacker = {"X-Forwarded-For": "198.51.100.7"}
    async with httpx.AsyncClient(base_url=proxied.url, timeout=60) as guesser:
        await guesser.get("/healthz")
        guesser.headers["X-CSRF-Token"] = guesser.cookies["csrftoken"]
        answers = await asyncio.gather(
            *(
                guesser.post(
                    "/api/v1/auth/login",
                    json={"email": email, "password": WRONG},
                    headers=attacker,
                )
                for _ in range(40)
            )
        )
    assert sorted(r.status_code for r in answers) == [401] * 5 + [429] * 35
    try:
        owner.headers["X-CSRF-Token"] = owner.cookies["csrftoken"]
        back = await owner.post(
            "/api/v1/auth/login",
            json={"email": email, "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.5"},
        )
        assert back.status_code == 200, back.text
    finally:
        await owner.aclose()
