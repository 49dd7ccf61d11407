"""Secrets the app's own role cannot read, whatever statement it runs: password hashes (row-level
security hides rows, not columns, so a clinician's request could read its patients' hashes) and
second factors (TOTP secrets, recovery codes), which only functions acting for the session whose
cookie token they are given reach. Each attack runs on a connection exactly as a request of a
clinician with an active share has it."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from litestar import Litestar

from server import db
from server.security import SESSION_COOKIE
from server.services import sessions
from tests.helpers.accounts import PASSWORD
from tests.helpers.second_factor import enrol
from tests.helpers.sharing import share


@asynccontextmanager
async def request_of(app: Litestar, client: Any) -> AsyncIterator[db.Connection]:
    """A connection as a request of ``client`` has it: from the app's pool, after the session
    lookup the app makes for the client's cookie."""
    pool = app.state.pool
    async with db.request_scope(), db.connection(pool) as conn:
        assert await sessions.user_for_token(pool, client.cookies[SESSION_COOKIE]) is not None
        yield conn


@pytest.fixture
async def shared(patient: Any, clinician: Any) -> tuple[Any, Any, str]:
    """A patient with an authenticator app, sharing with the clinician; and its secret."""
    secret, _ = await enrol(patient)
    await share(patient, clinician)
    return patient, clinician, secret


async def test_password_hashes_cannot_be_read(app: Litestar, shared: tuple[Any, Any, str]) -> None:
    patient, clinician, _ = shared
    async with request_of(app, clinician) as conn:
        # The patient's account is in the clinician's view: name, address, ...
        assert await conn.fetchval("SELECT email FROM users WHERE id = $1", patient.me["id"])
        for statement in (
            "SELECT password_hash FROM users",
            "SELECT * FROM users",
            "SELECT u FROM users u",
            "SELECT row_to_json(u) FROM users u",
            "SELECT id FROM users WHERE password_hash LIKE '$argon2%'",
            "UPDATE users SET display_name = display_name WHERE id = $1 RETURNING password_hash",
        ):
            args = (patient.me["id"],) if "$1" in statement else ()
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.fetch(statement, *args)
        # Nor through a function, with anything a statement can find.
        own_hash = await conn.fetchval("SELECT token_hash FROM sessions LIMIT 1")
        for token in (own_hash.hex(), patient.cookies[SESSION_COOKIE][:-1]):
            assert await conn.fetchval("SELECT afterglow_password_hash($1)", token) is None


async def test_second_factors_cannot_be_read_or_used(
    app: Litestar, shared: tuple[Any, Any, str]
) -> None:
    patient, clinician, secret = shared
    async with request_of(app, clinician) as conn:
        for table in ("totp_factors", "recovery_codes"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.fetch(f"SELECT * FROM {table}")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute(f"DELETE FROM {table}")
        # The functions act for the session whose token they are given, and no table holds one.
        patient_token_hash = hashlib.sha256(patient.cookies[SESSION_COOKIE].encode()).hexdigest()
        for token in ("", patient_token_hash, patient.me["id"]):
            assert await conn.fetch("SELECT * FROM afterglow_totp_of($1)", token) == []
            assert await conn.fetchval("SELECT afterglow_remove_totp($1)", token) is False
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.fetch("SELECT afterglow_use_code($1, 1, NULL)", patient.me["id"])
        # A statement cannot mark its own session re-authenticated or past its second factor.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.execute("UPDATE sessions SET reauthenticated_at = now()")
    status = await patient.get("/api/v1/auth/mfa")
    assert status.json()["totp"] is True and secret


async def test_a_session_waiting_for_its_second_factor_sees_nothing(
    app: Litestar, shared: tuple[Any, Any, str], client_factory: Any
) -> None:
    patient, _, _ = shared
    phone = client_factory()
    answer = await phone.post(
        "/api/v1/auth/login", json={"email": patient.me["email"], "password": PASSWORD}
    )
    assert answer.json() == {"mfa_required": True}
    pool = app.state.pool
    async with db.request_scope(), db.connection(pool) as conn:
        state = await sessions.session_for_token(pool, phone.cookies[SESSION_COOKIE])
        assert state is not None and state.second_factor_pending
        for table in ("checkins", "users", "shares", "audit_events", "sessions"):
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table
