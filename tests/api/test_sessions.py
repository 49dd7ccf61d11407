"""Server-side sessions: rotation at login, expiry, and logout that really ends the session."""

from __future__ import annotations

import hashlib
from typing import Any

from server import db, security
from tests.helpers.accounts import PASSWORD, register, unique_email


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def test_token_rotates_at_login_and_planted_cookie_is_useless(
    client_factory: Any, pool: db.Pool
) -> None:
    victim = client_factory()
    email = unique_email()
    await register(victim, email=email)
    await victim.post("/api/v1/auth/logout")

    # An attacker plants a session cookie of their own in the victim's browser before login.
    attacker = client_factory()
    await register(attacker)
    planted = attacker.cookies[security.SESSION_COOKIE]
    victim.cookies.set(security.SESSION_COOKIE, planted, domain="127.0.0.1")

    login = await victim.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200
    fresh = victim.cookies[security.SESSION_COOKIE]
    assert fresh != planted
    assert len(fresh) >= 43  # 256 bits, base64url

    # The planted token is gone server-side: it gives the attacker nothing of the victim's.
    async with db.transaction(pool) as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM sessions WHERE token_hash = $1", _hash(planted)
            )
            == 0
        )
        stored = await conn.fetchval(
            "SELECT count(*) FROM sessions WHERE token_hash = $1", _hash(fresh)
        )
        plain = await conn.fetchval(
            "SELECT count(*) FROM sessions WHERE token_hash = $1", fresh.encode()
        )
    assert (stored, plain) == (1, 0)  # only the hash is stored
    assert (await attacker.get("/api/v1/me")).status_code == 401


async def test_cookie_flags(client_factory: Any) -> None:
    client = client_factory()
    response = await client.post(
        "/api/v1/auth/register",
        json={
            "email": unique_email(),
            "password": PASSWORD,
            "display_name": "C",
            "timezone": "UTC",
        },
    )
    cookie = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith(security.SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie


async def test_logout_invalidates_server_side(client_factory: Any) -> None:
    client = client_factory()
    await register(client)
    token = client.cookies[security.SESSION_COOKIE]
    assert (await client.post("/api/v1/auth/logout")).status_code == 204
    replay = client_factory()
    replay.cookies.set(security.SESSION_COOKIE, token)
    assert (await replay.get("/api/v1/me")).status_code == 401


async def test_expired_sessions_are_refused(client_factory: Any, pool: db.Pool) -> None:
    idle, absolute = client_factory(), client_factory()
    await register(idle)
    await register(absolute)
    async with db.transaction(pool) as conn:
        await conn.execute(
            "UPDATE sessions SET last_seen_at = now() - idle_timeout - interval '1 second' "
            "WHERE token_hash = $1",
            _hash(idle.cookies[security.SESSION_COOKIE]),
        )
        await conn.execute(
            "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1",
            _hash(absolute.cookies[security.SESSION_COOKIE]),
        )
    assert (await idle.get("/api/v1/me")).status_code == 401
    assert (await absolute.get("/api/v1/me")).status_code == 401


async def test_clinician_sessions_are_short(clinician: Any, pool: db.Pool) -> None:
    async with db.transaction(pool) as conn:
        row = await conn.fetchrow(
            "SELECT idle_timeout, expires_at - created_at AS life FROM sessions "
            "WHERE token_hash = $1",
            _hash(clinician.cookies[security.SESSION_COOKIE]),
        )
    assert row["idle_timeout"].total_seconds() == 30 * 60
    assert round(row["life"].total_seconds() / 3600) == 12


async def test_password_change_ends_other_sessions(client_factory: Any) -> None:
    phone, laptop = client_factory(), client_factory()
    email = unique_email()
    await register(phone, email=email)
    await laptop.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert (await laptop.get("/api/v1/me")).status_code == 200

    changed = await phone.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "a whole new secret"},
    )
    assert changed.status_code == 204
    assert (await phone.get("/api/v1/me")).status_code == 200
    assert (await laptop.get("/api/v1/me")).status_code == 401
    old = await laptop.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert old.status_code == 401
    new = await laptop.post(
        "/api/v1/auth/login", json={"email": email, "password": "a whole new secret"}
    )
    assert new.status_code == 200
