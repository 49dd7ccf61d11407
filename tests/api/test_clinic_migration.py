"""Migration 0023: every clinician account so far becomes the prescriber (and admin) of a
one-person clinic named after them; patients get none."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

from server import db
from tests.helpers.database import with_database


@pytest.fixture
async def empty_database(server_url: str) -> AsyncIterator[str]:
    name = f"afterglow_clinics_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_existing_clinicians_become_prescribers_of_a_one_person_clinic(
    empty_database: str,
) -> None:
    every = db.load_migrations()
    before = [m for m in every if m.name < "0023"]
    conn = await asyncpg.connect(empty_database)
    try:
        await db.migrate(conn, before)
        await conn.execute(
            """INSERT INTO users (email, role, password_hash, display_name, timezone)
               VALUES ('doc@example.org', 'clinician', 'x', 'Dr. Rivera', 'UTC'),
                      ('pat@example.org', 'patient', 'x', 'Pat', 'UTC')"""
        )
        await db.migrate(conn, every)
        rows = await conn.fetch(
            """SELECT c.name, m.roles, u.email FROM clinic_members m
                 JOIN clinics c ON c.id = m.clinic_id JOIN users u ON u.id = m.clinician_id"""
        )
        assert [(r["name"], r["roles"], r["email"]) for r in rows] == [
            ("Dr. Rivera", ["admin", "prescriber"], "doc@example.org")
        ]
    finally:
        await conn.close()
