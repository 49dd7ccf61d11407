"""Fixtures for the fault tests: a database of the test's own, and worker processes."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from server.domain.reminders import PushPayload
from server.store import reminders as reminder_store
from server.timeutil import utc_now
from tests.conftest import _with_database
from tests.live_server import ROOT


@pytest.fixture
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """An empty database for one test, so no other test's outbox rows are in the way."""
    name = f"afterglow_fault_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


class Workers:
    """`python -m server worker` processes, started and killed at will."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = open(os.path.join(self.env["AFTERGLOW_DATA_DIR"], "workers.log"), "ab")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "worker"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


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


async def enqueue(url: str, user_id: Any, tags: list[str]) -> None:
    """Reminders due now for one user, one per tag, through the real outbox."""
    conn = await asyncpg.connect(url)
    try:
        now = utc_now()
        for tag in tags:
            await reminder_store.enqueue_notification(
                conn,
                user_id,
                "fault_test",
                tag,
                now - timedelta(seconds=1),
                now + timedelta(minutes=10),
                PushPayload(title="Afterglow", body="Test", url="/", tag=tag),
            )
    finally:
        await conn.close()
