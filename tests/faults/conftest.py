"""Fixtures for the fault tests: a database of the test's own, and worker processes."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from tests.helpers.database import with_database
from tests.helpers.workers import Workers


@pytest.fixture
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """An empty database for one test, so no other test's outbox rows are in the way."""
    name = f"afterglow_fault_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def workers() -> Iterator[Any]:
    made: list[Workers] = []

    def make(env: dict[str, str]) -> Workers:
        group = Workers({**env, "AFTERGLOW_PUSH_LEASE_SECONDS": "3"})
        made.append(group)
        return group

    yield make
    for group in made:
        group.stop_all()
