"""Several app processes and reminder workers on one database; a worker killed mid-dispatch.

Every reminder is delivered exactly once, counted at a local push service that decrypts what
it receives; the data written through two app processes is all there once.
"""

from __future__ import annotations

import asyncio
import collections
import signal
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.live_server import LiveServer, signed_in_patient
from tests.helpers.push import enqueue
from tests.helpers.push_service import PushService

pytestmark = pytest.mark.slow


async def _wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_two_apps_and_two_workers_deliver_each_reminder_once(
    fresh_database: str, tmp_path: Path, workers: Any
) -> None:
    with PushService.in_thread() as service:
        first = LiveServer(fresh_database, tmp_path)
        await asyncio.to_thread(first.start)  # makes the VAPID key pair in the data folder
        second = LiveServer(fresh_database, tmp_path, secret_key=first.env["AFTERGLOW_SECRET_KEY"])
        await asyncio.to_thread(second.start)
        group = workers(first.env)
        clients: list[httpx.AsyncClient] = []
        try:
            group.start()
            group.start()
            patients = []
            for n in range(10):
                server = (first, second)[n % 2]
                client = await signed_in_patient(server.url, unique_email("fault"), PASSWORD)
                clients.append(client)
                subscription = service.subscribe()
                added = await client.post("/api/v1/push/subscriptions", json=subscription.as_json())
                assert added.status_code == 201, added.text
                me = (await client.get("/api/v1/me")).json()
                patients.append((client, me["id"], subscription))

            # A steady write load through both processes while the workers send.
            async def write(client: httpx.AsyncClient, count: int) -> list[str]:
                done = []
                for _ in range(count):
                    entry = str(uuid.uuid4())
                    response = await client.put(
                        f"/api/v1/checkins/{entry}",
                        json={"recorded_at": datetime.now(UTC).isoformat(), "mood": 6},
                    )
                    assert response.status_code == 201, response.text
                    done.append(entry)
                return done

            writers = [asyncio.create_task(write(c, 15)) for c, _, _ in patients]
            tags = [f"t{n}" for n in range(100)]
            for _, user_id, _ in patients:
                await enqueue(fresh_database, uuid.UUID(user_id), tags)
            written = [entry for batch in await asyncio.gather(*writers) for entry in batch]

            expected = len(patients) * len(tags)
            await _wait_for(lambda: len(service.deliveries) >= expected, 90, "deliveries")
            await asyncio.sleep(2)  # anything sent twice would arrive now
            counts = collections.Counter(
                (d.subscription.endpoint, d.json()["tag"]) for d in service.deliveries
            )
            assert len(counts) == expected
            assert set(counts.values()) == {1}, "a reminder was delivered more than once"
            assert all(p.poll() is None for p in group.processes)

            conn = await asyncpg.connect(fresh_database)
            try:
                stored = [str(r["id"]) for r in await conn.fetch("SELECT id FROM checkins")]
                sent = await conn.fetchval(
                    "SELECT count(*) FROM push_outbox WHERE kind = 'fault_test' AND status = 'sent'"
                )
            finally:
                await conn.close()
            assert sorted(stored) == sorted(written)
            assert sent == expected
        finally:
            for client in clients:
                await client.aclose()
            group.stop_all()
            await asyncio.to_thread(first.stop)
            await asyncio.to_thread(second.stop)


async def test_a_killed_worker_s_reminders_are_sent_once_after_the_lease(
    fresh_database: str, tmp_path: Path, workers: Any
) -> None:
    with PushService.in_thread() as service:
        app = LiveServer(fresh_database, tmp_path)
        await asyncio.to_thread(app.start)
        group = workers(app.env)
        try:
            client = await signed_in_patient(app.url, unique_email("killed"), PASSWORD)
            subscription = service.subscribe()
            assert (
                await client.post("/api/v1/push/subscriptions", json=subscription.as_json())
            ).status_code == 201
            me = (await client.get("/api/v1/me")).json()
            await client.aclose()

            service.stall(subscription)  # the worker will hang mid-send
            tags = [f"k{n}" for n in range(20)]
            await enqueue(fresh_database, uuid.UUID(me["id"]), tags)
            doomed = group.start()
            await _wait_for(lambda: service.stalled_requests > 0, 30, "the worker to send")
            doomed.send_signal(signal.SIGKILL)
            doomed.wait()
            killed_at = time.monotonic()
            service.release()
            assert service.deliveries == []

            group.start()
            await _wait_for(lambda: len(service.deliveries) >= len(tags), 60, "redelivery")
            await asyncio.sleep(1.5)
            counts = collections.Counter(d.json()["tag"] for d in service.deliveries)
            assert counts == dict.fromkeys(tags, 1)
            assert time.monotonic() - killed_at >= 1  # only after the lease ran out
        finally:
            group.stop_all()
            await asyncio.to_thread(app.stop)
