"""The PostgreSQL the tests run against, databases on it owned by a role of their own, URLs of
them, and stopping and starting a test's own embedded PostgreSQL (pgserver)."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any

import asyncpg

from server import db

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
APP = db.APP_ROLE


def server_url() -> str:
    """``AFTERGLOW_TEST_DATABASE_URL`` if set, else the server on 127.0.0.1:5432 if one answers,
    else an embedded PostgreSQL (pgserver) in a temporary folder."""
    explicit = os.environ.get("AFTERGLOW_TEST_DATABASE_URL")
    if explicit:
        return explicit

    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(LOCAL_SERVER, timeout=2)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await conn.close()
        return True

    if asyncio.run(probe()):
        return LOCAL_SERVER
    return db.start_embedded(Path(tempfile.mkdtemp(prefix="afterglow-pg-")))


def with_database(url: str, name: str) -> str:
    """``url`` (a server's, or any database's on it) pointing at database ``name`` instead."""
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


async def stop_postgres(server: Any) -> None:
    from pgserver._commands import pg_ctl

    await asyncio.to_thread(
        pg_ctl, ["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user
    )


async def start_postgres(server: Any) -> None:
    await asyncio.to_thread(server.ensure_postgres_running)


async def create_owned_database(server_url: str, name: str) -> str:
    """A database ``name`` owned by a role ``name`` that is no superuser (so row-level security
    binds the owner too, as in production); returns the owner's URL, which the app migrates
    with. The owner may make roles: the migrations make ``afterglow_app`` a login role when it
    is not one yet, and PostgreSQL 16 wants the admin option on it for that."""
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE')
        if await admin.fetchval("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", APP):
            await admin.execute(f'GRANT {APP} TO "{name}" WITH ADMIN OPTION')
        await admin.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
    finally:
        await admin.close()
    return db.with_user(with_database(server_url, name), name)


async def drop_owned_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'DROP ROLE IF EXISTS "{name}"')
    finally:
        await admin.close()
