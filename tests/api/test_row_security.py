"""Defence in depth: PostgreSQL row-level security on the tables of clinical data.

The app's connections work as ``afterglow_app``, which cannot bypass it; a query that forgets
its patient filter still returns only the rows of the patients its request was granted.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from litestar import Litestar

from server import db

TABLES = ("checkins", "assessments", "infusions", "sync_counters")


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


@pytest.fixture
async def two_patients(client_factory: Any) -> tuple[Any, Any]:
    from tests.helpers.accounts import register

    first, second = client_factory(), client_factory()
    first.me, second.me = await register(first), await register(second)
    await _log_something(first)
    await _log_something(second)
    return first, second


async def test_the_app_role_cannot_bypass_row_security(app: Litestar) -> None:
    async with db.connection(app.state.pool) as conn:
        row = await conn.fetchrow(
            "SELECT current_user AS name, rolsuper, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        )
        forced = await conn.fetch(
            "SELECT relname FROM pg_class WHERE relrowsecurity AND relname = ANY($1::text[])",
            list(TABLES),
        )
    assert row["name"] == db.APP_ROLE
    assert not row["rolsuper"] and not row["rolbypassrls"]
    assert sorted(r["relname"] for r in forced) == sorted(TABLES)


@pytest.mark.parametrize("table", TABLES)
async def test_an_unfiltered_query_sees_only_granted_patients(
    app: Litestar, two_patients: tuple[Any, Any], table: str
) -> None:
    first, second = two_patients
    async with db.request_scope(), db.connection(app.state.pool) as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0  # nobody granted yet
        await db.grant(conn, uuid.UUID(first.me["id"]))
        seen = {r["patient_id"] for r in await conn.fetch(f"SELECT patient_id FROM {table}")}
        assert seen == {uuid.UUID(first.me["id"])}
        await db.grant(conn, uuid.UUID(second.me["id"]))
        seen = {r["patient_id"] for r in await conn.fetch(f"SELECT patient_id FROM {table}")}
        assert seen >= {uuid.UUID(first.me["id"]), uuid.UUID(second.me["id"])}


async def test_grants_end_with_the_request(app: Litestar, two_patients: tuple[Any, Any]) -> None:
    first, _ = two_patients
    pool = app.state.pool
    async with db.request_scope(), db.connection(pool) as conn:
        await db.grant(conn, uuid.UUID(first.me["id"]))
        assert await conn.fetchval("SELECT count(*) FROM checkins") >= 1
    for _ in range(pool.get_size()):  # whichever pooled connection comes next
        async with db.request_scope(), db.connection(pool) as conn:
            assert await conn.fetchval("SELECT count(*) FROM checkins") == 0


async def test_writing_another_patients_row_is_refused(
    app: Litestar, two_patients: tuple[Any, Any]
) -> None:
    first, second = two_patients
    async with db.request_scope(), db.connection(app.state.pool) as conn:
        await db.grant(conn, uuid.UUID(first.me["id"]))
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(
                "INSERT INTO sync_counters (patient_id, seq) VALUES ($1, 1)",
                uuid.UUID(second.me["id"]),
            )
        updated = await conn.execute(
            "UPDATE checkins SET mood = 0 WHERE patient_id = $1", uuid.UUID(second.me["id"])
        )
        assert updated == "UPDATE 0"
