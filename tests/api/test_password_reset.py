"""A forgotten password, through a real SMTP server: the same answer for any address, a link
only for an account's owner, working once, for 30 minutes, and ending every session."""

from __future__ import annotations

from typing import Any

import httpx

from server import db
from server.config import Settings
from server.security import SESSION_COOKIE
from tests.helpers.accounts import PASSWORD, register, unique_email
from tests.helpers.mail_server import MailServer, assert_neutral, deliver, link_in, token_in

NEW_PASSWORD = "a brand new passphrase"
# What differs between any two responses whatever they answer.
_PER_RESPONSE = {"date", "x-request-id"}


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.items() if k not in _PER_RESPONSE)


async def _ask(client: Any, email: str) -> httpx.Response:
    return await client.post("/api/v1/auth/password-reset", json={"email": email})


async def _confirm(client: Any, token: str, password: str = NEW_PASSWORD) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": password}
    )


async def _sign_in(client: Any, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    client_factory: Any, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    known = unique_email()
    await register(client_factory(), email=known)
    unknown = unique_email()
    asking = client_factory()

    for_known = await _ask(asking, known)
    for_unknown = await _ask(asking, unknown)

    assert for_known.status_code == for_unknown.status_code == 202
    assert for_known.content == for_unknown.content
    assert _headers(for_known) == _headers(for_unknown)
    assert "30 minutes" in for_known.json()["detail"]
    await deliver(pool, settings, mail_server)
    [message] = mail_server.to(known)
    assert mail_server.to(unknown) == []
    assert link_in(message).startswith(f"{settings.public_url}/reset#token=")
    assert_neutral(message)


async def test_the_link_works_once_and_ends_every_session(
    client_factory: Any, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    email = unique_email()
    phone = client_factory()
    me = await register(phone, email=email)
    laptop = client_factory()
    assert (await _sign_in(laptop, email, PASSWORD)).status_code == 200
    stranger = client_factory()

    assert (await _ask(stranger, email)).status_code == 202
    await deliver(pool, settings, mail_server)
    [message] = mail_server.to(email)
    token = token_in(message)
    async with db.connection(pool) as conn:
        stored = await conn.fetchval(
            "SELECT count(*) FROM account_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
            token,
        )
        in_clear = await conn.fetchval(
            "SELECT count(*) FROM mail_outbox WHERE position($1 IN coalesce(body, '')) > 0", token
        )
    assert (stored, in_clear) == (1, 0)  # only its hash is kept

    assert (await _confirm(stranger, token)).status_code == 204
    for device in (phone, laptop):
        assert (await device.get("/api/v1/me")).status_code == 401
    assert (await _sign_in(client_factory(), email, PASSWORD)).status_code == 401
    assert (await _sign_in(client_factory(), email, NEW_PASSWORD)).status_code == 200

    again = await _confirm(stranger, token, "yet another passphrase")
    assert again.status_code == 400
    assert again.json()["field"] == "token"
    assert (await _sign_in(client_factory(), email, NEW_PASSWORD)).status_code == 200

    async with db.connection(pool) as conn:
        actions = [
            r["action"]
            for r in await conn.fetch(
                "SELECT action FROM audit_events WHERE patient_id = $1 ORDER BY id", me["id"]
            )
        ]
    assert "password_reset" in actions
    await deliver(pool, settings, mail_server)
    _reset, notice = mail_server.to(email)
    assert "changed" in str(notice["Subject"])
    assert f"{settings.public_url}/forgot" in link_in(notice)
    assert_neutral(notice)


async def test_an_expired_link_changes_nothing(
    client_factory: Any, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    email = unique_email()
    me = await register(client_factory(), email=email)
    assert (await _ask(client_factory(), email)).status_code == 202
    await deliver(pool, settings, mail_server)
    token = token_in(mail_server.to(email)[0])
    async with db.transaction(pool) as conn:
        await conn.execute(
            "UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1",
            me["id"],
        )

    expired = await _confirm(client_factory(), token)
    assert expired.status_code == 400
    assert expired.json()["field"] == "token"
    assert (await _sign_in(client_factory(), email, PASSWORD)).status_code == 200
    assert (await _sign_in(client_factory(), email, NEW_PASSWORD)).status_code == 401


async def test_a_made_up_token_and_a_short_password_are_refused(client_factory: Any) -> None:
    client = client_factory()
    made_up = await _confirm(client, "A" * 43)
    assert made_up.status_code == 400 and made_up.json()["field"] == "token"
    short = await _confirm(client, "A" * 43, "short")
    assert short.status_code == 400 and short.json()["field"] == "password"
    bad_email = await _ask(client, "not an address")
    assert bad_email.status_code == 400 and bad_email.json()["field"] == "email"


async def test_asking_again_and_again_is_throttled_the_same_for_any_address(
    client_factory: Any, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    known = unique_email()
    await register(client_factory(), email=known)
    unknown = unique_email()
    answers: dict[str, list[int]] = {known: [], unknown: []}
    for email in (known, unknown):
        for _ in range(6):
            answers[email].append((await _ask(client_factory(), email)).status_code)
    assert answers[known] == answers[unknown] == [202] * 5 + [429]
    await deliver(pool, settings, mail_server)
    assert len(mail_server.to(known)) == 1  # not one per request: one a minute at most


async def test_signing_out_everywhere_ends_every_session(
    client_factory: Any, pool: db.Pool
) -> None:
    email = unique_email()
    phone = client_factory()
    me = await register(phone, email=email)
    laptop = client_factory()
    assert (await _sign_in(laptop, email, PASSWORD)).status_code == 200

    ended = await laptop.post("/api/v1/auth/logout-everywhere")
    assert ended.status_code == 204
    assert SESSION_COOKIE in ended.headers.get("set-cookie", "")
    for device in (phone, laptop):
        assert (await device.get("/api/v1/me")).status_code == 401
    assert (await client_factory().post("/api/v1/auth/logout-everywhere")).status_code == 401
    async with db.connection(pool) as conn:
        left = await conn.fetchval("SELECT count(*) FROM sessions WHERE user_id = $1", me["id"])
    assert left == 0
