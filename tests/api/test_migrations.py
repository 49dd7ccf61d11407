"""Migrations: applied once under an advisory lock, and an edited applied file stops start-up."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

from server import db
from tests.helpers.database import with_database


@pytest.fixture
async def empty_database(server_url: str) -> AsyncIterator[str]:
    name = f"afterglow_migrate_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_two_concurrent_migrators_apply_each_file_once(empty_database: str) -> None:
    first = await asyncpg.connect(empty_database)
    second = await asyncpg.connect(empty_database)
    try:
        applied_a, applied_b = await asyncio.gather(db.migrate(first), db.migrate(second))
        expected = [m.name for m in db.load_migrations()]
        assert sorted(applied_a + applied_b) == expected  # each applied by exactly one of them
        rows = await first.fetch("SELECT name FROM schema_migrations ORDER BY name")
        assert [r["name"] for r in rows] == expected
        assert await db.migrations_current(first)
        assert await db.migrate(first) == []  # a third run has nothing to do
    finally:
        await first.close()
        await second.close()


async def test_edited_applied_migration_is_refused(empty_database: str) -> None:
    conn = await asyncpg.connect(empty_database)
    try:
        original = [db.Migration(name="0001_example.sql", sql="CREATE TABLE example (id int);")]
        assert await db.migrate(conn, original) == ["0001_example.sql"]
        edited = [db.Migration(name="0001_example.sql", sql="CREATE TABLE example (id bigint);")]
        with pytest.raises(db.MigrationError, match=r"0001_example\.sql"):
            await db.migrate(conn, edited)
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_half_done(empty_database: str) -> None:
    conn = await asyncpg.connect(empty_database)
    try:
        broken = [
            db.Migration(name="0001_good.sql", sql="CREATE TABLE good (id int);"),
            db.Migration(
                name="0002_bad.sql", sql="CREATE TABLE half (id int); SELECT no_such_function();"
            ),
        ]
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await db.migrate(conn, broken)
        names = [r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")]
        assert names == ["0001_good.sql"]
        assert await conn.fetchval("SELECT to_regclass('half')") is None
    finally:
        await conn.close()
