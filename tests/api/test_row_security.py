"""Row-level security holds against a hostile statement, not only a forgotten WHERE.

Each attack runs on a connection taken exactly as a request takes it (the app's pool, the
session lookup of a signed-in patient or clinician) and tries to reach another patient's rows:
widening the old grant setting, leaving the role, writing the grant, forging a session,
turning row security off. Each must get nothing of the other patient, or an error.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from litestar import Litestar

from server import db
from server.security import SESSION_COOKIE
from server.services import sessions
from server.store import sessions as session_store
from tests.helpers.accounts import register
from tests.helpers.sharing import make_code, share

CLINICAL = ("checkins", "assessments", "infusions", "sync_counters")
# Every table of patient or user data, and the column naming whose row it is.
OWNER_COLUMN = {
    "checkins": "patient_id",
    "assessments": "patient_id",
    "infusions": "patient_id",
    "sync_counters": "patient_id",
    "reminder_prefs": "patient_id",
    "users": "id",
    "sessions": "user_id",
    "shares": "patient_id",
    "audit_events": "patient_id",
    "push_subscriptions": "user_id",
    "push_outbox": "user_id",
    "push_attempts": "user_id",
}


async def _log_something(client: Any) -> None:
    now = datetime.now(UTC).isoformat()
    assert (
        await client.put(f"/api/v1/checkins/{uuid.uuid4()}", json={"recorded_at": now, "mood": 5})
    ).status_code == 201
    assert (
        await client.put(
            f"/api/v1/assessments/{uuid.uuid4()}",
            json={"instrument": "gad7", "answers": [1] * 7, "taken_at": now},
        )
    ).status_code in (200, 201)
    assert (
        await client.put(
            f"/api/v1/infusions/{uuid.uuid4()}",
            json={"scheduled_at": now, "duration_minutes": 40, "status": "completed"},
        )
    ).status_code in (200, 201)


async def _push_rows(pool: db.Pool, user_id: uuid.UUID) -> None:
    """A device, reminder preferences (an infusion may have made them), an outbox row and an
    attempt, as the worker leaves them."""
    now = datetime.now(UTC)
    async with db.transaction(pool) as conn:
        await conn.execute(
            """INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth)
               VALUES ($1, $2, 'key', 'auth')""",
            user_id,
            f"https://push.example.org/{secrets.token_hex(8)}",
        )
        await conn.execute(
            """INSERT INTO reminder_prefs (patient_id, infusion_day_before, infusion_two_hours,
                                           infusion_evening_after)
               VALUES ($1, true, true, true) ON CONFLICT DO NOTHING""",
            user_id,
        )
        outbox_id = await conn.fetchval(
            """INSERT INTO push_outbox (user_id, kind, occurrence, due_at, stale_at, payload,
                                        next_attempt_at)
               VALUES ($1, 'daily_checkin', 'test', $2, $3, '{}', $2) RETURNING id""",
            user_id,
            now,
            now + timedelta(hours=1),
        )
        await conn.execute(
            """INSERT INTO push_attempts (outbox_id, user_id, attempted_at, outcome)
               VALUES ($1, $2, $3, 'delivered')""",
            outbox_id,
            user_id,
            now,
        )


@pytest.fixture
async def two_patients(client_factory: Any, pool: db.Pool) -> tuple[Any, Any]:
    """Two patients with rows in every table of patient data."""
    first, second = client_factory(), client_factory()
    first.me, second.me = await register(first), await register(second)
    for patient in (first, second):
        await _log_something(patient)
        await make_code(patient)  # a pending share, and its audit row
        await _push_rows(pool, uuid.UUID(patient.me["id"]))
    return first, second


@asynccontextmanager
async def request_of(app: Litestar, client: Any) -> AsyncIterator[db.Connection]:
    """A connection exactly as a request of ``client`` has it: taken from the app's pool, after
    the session lookup the app makes for the client's cookie."""
    pool = app.state.pool
    async with db.request_scope(), db.connection(pool) as conn:
        assert await sessions.user_for_token(pool, client.cookies[SESSION_COOKIE]) is not None
        yield conn


@asynccontextmanager
async def anonymous_request(app: Litestar) -> AsyncIterator[db.Connection]:
    """A connection as a request without a session has it (sign-up, sign-in, a public page)."""
    async with db.request_scope(), db.connection(app.state.pool) as conn:
        yield conn


async def _patients_seen(conn: db.Connection, table: str) -> set[uuid.UUID]:
    column = OWNER_COLUMN[table]
    return {r[0] for r in await conn.fetch(f"SELECT {column} FROM {table}")}


def _id(client: Any) -> uuid.UUID:
    return uuid.UUID(client.me["id"])


# --- the roles ---------------------------------------------------------------------------------


async def test_requests_log_in_as_a_role_that_cannot_leave_row_security(app: Litestar) -> None:
    async with anonymous_request(app) as conn:
        row = await conn.fetchrow(
            """SELECT session_user AS login, current_user AS name, r.rolsuper, r.rolbypassrls,
                      o.rolname AS owner, o.rolsuper AS owner_super,
                      pg_has_role(session_user, o.oid, 'MEMBER') AS may_become_owner
                 FROM pg_roles r, pg_class c JOIN pg_roles o ON o.oid = c.relowner
                WHERE r.rolname = session_user AND c.relname = 'checkins'"""
        )
        forced = await conn.fetch(
            """SELECT relname FROM pg_class
                WHERE relrowsecurity AND relforcerowsecurity AND relname = ANY($1::text[])""",
            list(OWNER_COLUMN),
        )
    assert row["login"] == row["name"] == db.APP_ROLE  # logged in as it, not SET ROLE to it
    assert not row["rolsuper"] and not row["rolbypassrls"] and not row["may_become_owner"]
    assert row["owner"] != db.APP_ROLE
    # A superuser owner would ignore FORCE: the tests' owner is none, like production's.
    assert not row["owner_super"]
    assert sorted(r["relname"] for r in forced) == sorted(OWNER_COLUMN)


async def test_every_table_with_a_user_column_is_forced(pool: db.Pool) -> None:
    """A table added later that names a patient or user must come with its policies, or be
    closed to the app's role."""
    async with db.connection(pool) as conn:
        open_tables = await conn.fetch(
            """SELECT DISTINCT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
                  AND a.attname IN ('patient_id', 'user_id', 'clinician_id', 'actor_id')
                  AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
                  -- or closed to the app altogether (only the owner's functions use it)
                  AND has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE')""",
            db.APP_ROLE,
        )
    assert [r["relname"] for r in open_tables] == []


# --- what a request sees -----------------------------------------------------------------------


@pytest.mark.parametrize("table", CLINICAL)
async def test_an_unfiltered_query_sees_only_granted_patients(
    app: Litestar, two_patients: tuple[Any, Any], clinician: Any, table: str
) -> None:
    first, second = two_patients
    async with anonymous_request(app) as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0  # nobody granted yet
    async with request_of(app, first) as conn:
        assert await _patients_seen(conn, table) == {_id(first)}
    await share(first, clinician)
    await share(second, clinician)
    async with request_of(app, clinician) as conn:  # a clinician: every patient sharing now
        assert await _patients_seen(conn, table) == {_id(first), _id(second)}


async def test_a_revoked_share_hides_the_patient_at_the_next_query(
    app: Litestar, two_patients: tuple[Any, Any], clinician: Any
) -> None:
    first, _ = two_patients
    share_id = await share(first, clinician)
    async with request_of(app, clinician) as conn:
        assert await _patients_seen(conn, "checkins") == {_id(first)}
        assert (await first.delete(f"/api/v1/shares/{share_id}")).status_code in (200, 204)
        assert await _patients_seen(conn, "checkins") == set()  # same request, next query


async def test_grants_end_with_the_request(app: Litestar, two_patients: tuple[Any, Any]) -> None:
    first, _ = two_patients
    pool = app.state.pool
    async with request_of(app, first) as conn:
        assert await conn.fetchval("SELECT count(*) FROM checkins") >= 1
    for _ in range(pool.get_size()):  # whichever pooled connection comes next
        async with anonymous_request(app) as conn:
            assert await conn.fetchval("SELECT count(*) FROM checkins") == 0


async def test_writing_another_patients_row_is_refused(
    app: Litestar, two_patients: tuple[Any, Any]
) -> None:
    first, second = two_patients
    async with request_of(app, first) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(
                "INSERT INTO sync_counters (patient_id, seq) VALUES ($1, 1)", _id(second)
            )
        updated = await conn.execute(
            "UPDATE checkins SET mood = 0 WHERE patient_id = $1", _id(second)
        )
        assert updated == "UPDATE 0"


@pytest.mark.parametrize("table", sorted(OWNER_COLUMN))
async def test_no_table_shows_or_yields_another_patients_rows(
    app: Litestar, pool: db.Pool, two_patients: tuple[Any, Any], table: str
) -> None:
    first, second = two_patients
    column = OWNER_COLUMN[table]
    async with db.connection(pool) as conn:  # the owner: the rows are there
        assert await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", _id(second))
    async with request_of(app, first) as conn:
        assert _id(second) not in await _patients_seen(conn, table)
        deleted = await conn.execute(f"DELETE FROM {table} WHERE {column} = $1", _id(second))
        assert deleted == "DELETE 0"
    async with db.connection(pool) as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", _id(second))


# --- hostile statements ------------------------------------------------------------------------


async def test_the_old_grant_settings_widen_nothing(
    app: Litestar, two_patients: tuple[Any, Any]
) -> None:
    first, second = two_patients
    async with request_of(app, first) as conn:
        await conn.execute(
            """SELECT set_config('afterglow.patients', '*', false),
                      set_config('afterglow.clinician', $1, false)""",
            str(_id(second)),
        )
        for table in OWNER_COLUMN:
            assert _id(second) not in await _patients_seen(conn, table), table


async def test_reset_role_and_set_role_reach_no_other_role(
    app: Litestar, two_patients: tuple[Any, Any]
) -> None:
    first, second = two_patients
    async with request_of(app, first) as conn:
        owner = await conn.fetchval(
            "SELECT relowner::regrole::text FROM pg_class WHERE relname = 'checkins'"
        )
        await conn.execute("RESET ROLE")
        assert await conn.fetchval("SELECT current_user") == db.APP_ROLE
        for table in OWNER_COLUMN:
            assert _id(second) not in await _patients_seen(conn, table), table
        for role in (owner, "postgres"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(f"SET ROLE {role}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("SET SESSION AUTHORIZATION postgres")


async def test_row_security_cannot_be_turned_off(
    app: Litestar, two_patients: tuple[Any, Any]
) -> None:
    first, second = two_patients
    async with request_of(app, first) as conn:
        await conn.execute("SET row_security = off")
        for table in OWNER_COLUMN:
            try:
                seen = await _patients_seen(conn, table)
            except asyncpg.InsufficientPrivilegeError:
                continue  # "query would be affected by row-level security policy"
            assert _id(second) not in seen, table
    # Nor does the setting stay with the connection for the next request.
    for _ in range(app.state.pool.get_size()):
        async with anonymous_request(app) as conn:
            assert await conn.fetchval("SHOW row_security") == "on"


async def test_the_grant_table_cannot_be_read_or_written(
    app: Litestar, two_patients: tuple[Any, Any]
) -> None:
    first, second = two_patients
    async with request_of(app, first) as conn:
        pid, started = await conn.fetchrow(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        )
        for statement in (
            "SELECT * FROM request_grants",
            "INSERT INTO request_grants (pid, started, patient_id) VALUES ($1, $2, $3)",
            "UPDATE request_grants SET patient_id = $3 WHERE pid = $1 AND started = $2",
            "DELETE FROM request_grants WHERE pid = $1 AND started = $2 AND $3::uuid IS NOT NULL",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(
                    statement, *((pid, started, _id(second)) if "$" in statement else ())
                )
        assert _id(second) not in await _patients_seen(conn, "checkins")


async def test_a_forged_session_grants_nothing(
    app: Litestar, two_patients: tuple[Any, Any]
) -> None:
    first, second = two_patients
    forged = hashlib.sha256(secrets.token_bytes(32)).digest()
    async with request_of(app, first) as conn:
        assert await conn.fetch("SELECT * FROM afterglow_open_request($1)", forged) == []
        for table in CLINICAL:  # the failed lookup also ended the patient's own grant
            assert await _patients_seen(conn, table) == set(), table
        # Starting a session needs the account's current password hash: a made-up one fails.
        started = await conn.fetchval(
            "SELECT afterglow_start_session($1, $2, $3, $4, now() + $4)",
            forged,
            _id(second),
            "$argon2id$v=19$m=8,t=1,p=1$forged$forged",
            timedelta(days=1),
        )
        assert started is False
        assert await conn.fetch("SELECT * FROM afterglow_open_request($1)", forged) == []
        assert _id(second) not in await _patients_seen(conn, "checkins")


async def test_a_temporary_table_does_not_stand_in_for_sessions(
    app: Litestar, two_patients: tuple[Any, Any]
) -> None:
    """The SECURITY DEFINER functions read public's tables, never a same-named temporary one."""
    first, second = two_patients
    forged = hashlib.sha256(secrets.token_bytes(32)).digest()
    async with request_of(app, first) as conn:
        await conn.execute(
            """CREATE TEMP TABLE sessions AS
               SELECT $1::bytea AS token_hash, $2::uuid AS user_id, now() AS last_seen_at,
                      interval '1 day' AS idle_timeout, now() + interval '1 day' AS expires_at""",
            forged,
            _id(second),
        )
        assert await conn.fetch("SELECT * FROM afterglow_open_request($1)", forged) == []
        assert _id(second) not in await _patients_seen(conn, "checkins")
        await conn.execute("DROP TABLE pg_temp.sessions")


async def test_acting_for_another_account_through_the_functions_is_refused(
    app: Litestar, two_patients: tuple[Any, Any], clinician: Any, client_factory: Any
) -> None:
    first, second = two_patients
    code = await make_code(second)
    other = client_factory()
    other.me = await register(other)
    async with request_of(app, first) as conn:
        # A patient cannot bind someone's code for a clinician, nor take a device over.
        assert (
            await conn.fetchval(
                "SELECT afterglow_accept_share($1, $2)",
                hashlib.sha256(code["code"].encode()).digest(),
                _id(clinician),
            )
            is None
        )
        assert (
            await conn.fetch(
                "SELECT * FROM afterglow_save_device($1, 'https://push.example.org/x', 'k', 'a')",
                _id(other),
            )
            == []
        )
        # Nor push anything but an alert about themselves, and only to their own clinicians.
        await share(first, clinician)
        for kind, occurrence, to in (
            ("patient_attention", f"{_id(first)}:x", _id(other)),
            ("patient_attention", f"{_id(second)}:x", _id(clinician)),
            ("any_message", f"{_id(first)}:x", _id(clinician)),
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(
                    """INSERT INTO push_outbox (user_id, kind, occurrence, due_at, stale_at,
                                                payload, next_attempt_at)
                       VALUES ($1, $2, $3, now(), now() + interval '1 hour', '{}', now())""",
                    to,
                    kind,
                    occurrence,
                )
        # Nor turn their own account into a clinician's.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE users SET role = 'clinician' WHERE id = $1", _id(first))
    async with request_of(app, clinician) as conn:
        # A clinician cannot take pending codes wholesale: the app's role may write no column
        # of a share but revoked_at and record_number (migration 0019), and pending codes are
        # nobody's a clinician may see.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(
                """UPDATE shares SET clinician_id = $1, accepted_at = now()
                    WHERE accepted_at IS NULL AND revoked_at IS NULL""",
                _id(clinician),
            )
        taken = await conn.execute(
            "UPDATE shares SET record_number = 'taken' WHERE accepted_at IS NULL"
        )
        assert taken == "UPDATE 0"
        assert _id(second) not in await _patients_seen(conn, "checkins")


# --- the grant table's rows --------------------------------------------------------------------


async def test_a_row_left_by_an_ended_backend_grants_nothing_and_is_pruned(
    app: Litestar, pool: db.Pool, settings: Any, two_patients: tuple[Any, Any]
) -> None:
    first, second = two_patients
    assert settings.database_url
    fresh = await db.create_pool(
        db.app_database_url(settings, settings.database_url), settings, min_size=1, max_size=1
    )
    try:
        async with fresh.acquire() as conn:  # a new backend, as the app's pool opens one
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            async with db.transaction(pool) as owner:
                # Its pid in an earlier process (pids are reused), and a pid no longer running.
                await owner.execute(
                    """INSERT INTO request_grants (pid, started, patient_id)
                       VALUES ($1, now() - interval '1 hour', $3),
                              ($2, now() - interval '1 hour', $3)""",
                    pid,
                    2_000_000_000,
                    _id(second),
                )
            assert _id(second) not in await _patients_seen(conn, "checkins")
            token = first.cookies[SESSION_COOKIE]
            assert await session_store.user_for_session(conn, sessions.token_hash(token))
            assert await _patients_seen(conn, "checkins") == {_id(first)}
    finally:
        await fresh.close()
    async with db.connection(pool) as owner:
        left = await owner.fetchval(
            "SELECT count(*) FROM request_grants WHERE patient_id = $1", _id(second)
        )
    assert left == 0
