"""PostgreSQL restarted under a steady write load, with the real app in a subprocess:
no write the server acknowledged is missing afterwards, requests during the outage answer 503,
and the same app process recovers without a restart."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.database import start_postgres, stop_postgres
from tests.helpers.live_server import LiveServer, signed_in_patient

pytestmark = pytest.mark.slow


async def test_acknowledged_writes_survive_a_database_restart(
    tmp_path: Path, embedded_postgres: Any
) -> None:
    server = embedded_postgres
    url = server.get_uri()
    live = LiveServer(url, tmp_path, env={"AFTERGLOW_DB_TIMEOUT": "2"})
    await asyncio.to_thread(live.start)
    pid = live.process.pid if live.process else None
    acknowledged: list[str] = []
    statuses: list[int] = []
    stop = asyncio.Event()
    try:
        client = await signed_in_patient(live.url, unique_email(), PASSWORD)

        async def writer() -> None:
            while not stop.is_set():
                entry = str(uuid.uuid4())
                started = time.monotonic()
                try:
                    response = await client.put(
                        f"/api/v1/checkins/{entry}",
                        json={"recorded_at": datetime.now(UTC).isoformat(), "mood": 5},
                    )
                except Exception:  # a dropped connection is not an acknowledgement
                    await asyncio.sleep(0.05)
                    continue
                assert time.monotonic() - started < 6, "a request hung during the outage"
                statuses.append(response.status_code)
                if response.status_code in (200, 201):
                    acknowledged.append(entry)
                else:
                    assert response.status_code == 503, response.text
                    await asyncio.sleep(0.05)

        writers = [asyncio.create_task(writer()) for _ in range(4)]
        await asyncio.sleep(1.5)
        before_outage = len(acknowledged)
        await stop_postgres(server)
        await asyncio.sleep(2)
        outage_statuses = len(statuses)
        await start_postgres(server)
        deadline = time.monotonic() + 20
        recovered_at = len(acknowledged)
        while time.monotonic() < deadline and len(acknowledged) < recovered_at + 20:
            await asyncio.sleep(0.2)
        stop.set()
        await asyncio.gather(*writers)
        await client.aclose()

        assert before_outage > 0
        assert 503 in statuses[before_outage:outage_statuses]
        assert len(acknowledged) >= recovered_at + 20, "writes did not resume after restart"
        assert live.process is not None and live.process.pid == pid
        assert live.process.poll() is None  # the same process, never restarted

        conn = await asyncpg.connect(url)
        try:
            stored = {str(r["id"]) for r in await conn.fetch("SELECT id FROM checkins")}
        finally:
            await conn.close()
        missing = set(acknowledged) - stored
        assert not missing, f"{len(missing)} acknowledged check-ins were lost"
    finally:
        stop.set()
        await asyncio.to_thread(live.stop)
