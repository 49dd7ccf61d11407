"""The dispatcher: claims due outbox rows, pushes them to every device of their user, and
records what happened.

Any number of dispatchers (in any number of processes) can run against one database. A claim
takes rows with FOR UPDATE SKIP LOCKED and leases them (their next_attempt_at moves one lease
ahead), so a dispatcher that dies mid-batch leaves its rows to another once the lease ends, and
a row is only ever held by one dispatcher. Sending stops before the lease runs out.

Outcomes per device: 2xx delivered; 404/410 the subscription is deleted; 429, 5xx, timeouts and
network errors are retried with exponential backoff (never sooner than Retry-After) until the
reminder is stale, when it is marked expired instead of being sent late; 401/403 means our
VAPID credentials are wrong: logged loudly, the subscription kept, no retry.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

import aiohttp
import asyncpg
import msgspec

from server.db import DB_UNAVAILABLE, Pool, transaction
from server.push import webpush
from server.push.vapid import VapidKeys
from server.push.webpush import Device, Result
from server.store import push as push_store
from server.store.push import Attempt, Claimed, Settled
from server.timeutil import utc_now

log = logging.getLogger("afterglow.push")

MAX_TTL: Final = 28 * 24 * 3600
_RETRYABLE: Final = ("retry", "timeout")


class Stats(msgspec.Struct, kw_only=True):
    """Counts of one or more rounds; rows by their new status, and device-level pushes."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    expired: int = 0
    skipped: int = 0
    failed: int = 0
    undeliverable: int = 0
    pushes: int = 0
    delivered: int = 0

    def add(self, other: Stats) -> None:
        for name in self.__struct_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Batch(msgspec.Struct, kw_only=True):
    token: uuid.UUID
    rows: list[Claimed]
    devices: dict[uuid.UUID, list[Device]]


class Dispatcher:
    def __init__(
        self,
        pool: Pool,
        vapid: VapidKeys,
        session: aiohttp.ClientSession,
        *,
        clock: Callable[[], datetime] = utc_now,
        lease: timedelta = timedelta(seconds=120),
        batch_size: int = 200,
        concurrency: int = 32,
        timeout: float = 10.0,
        jitter: Callable[[], float] = lambda: random.uniform(0.0, 0.2),
    ) -> None:
        self.pool = pool
        self.vapid = vapid
        self.session = session
        self.clock = clock
        self.lease = lease
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.timeout = timeout
        self.jitter = jitter

    async def claim(self, now: datetime | None = None) -> Batch:
        now = now or self.clock()
        token = uuid.uuid4()
        async with transaction(self.pool) as conn:
            rows = await push_store.claim_due(
                conn, now, limit=self.batch_size, lease=self.lease, token=token
            )
            users = sorted({r.user_id for r in rows if r.verdict == "pending"})
            devices = await push_store.devices_of(conn, users) if users else {}
        return Batch(token=token, rows=rows, devices=devices)

    async def run_once(self, now: datetime | None = None) -> Stats:
        """Claim one batch, send it, record the outcome."""
        batch = await self.claim(now)
        return await self.deliver(batch)

    async def run_until_idle(self, now: datetime | None = None) -> Stats:
        """Rounds until a claim comes back short of a full batch (tests, the CLI, benches)."""
        total = Stats()
        while True:
            stats = await self.run_once(now)
            total.add(stats)
            if stats.claimed < self.batch_size:
                return total

    async def run(self, idle: float = 1.0) -> None:
        """Forever: a full batch is followed at once by the next, otherwise wait ``idle`` s."""
        pause = idle
        while True:
            try:
                stats = await self.run_once()
            except DB_UNAVAILABLE as exc:
                log.warning("dispatcher: database unavailable (%s); retrying", type(exc).__name__)
                pause = min(pause * 2, 30.0)
                await asyncio.sleep(pause)
                continue
            pause = idle
            if stats.claimed < self.batch_size:
                await asyncio.sleep(idle)

    async def deliver(self, batch: Batch) -> Stats:
        stats = Stats(claimed=len(batch.rows))
        jobs: list[tuple[Claimed, bytes, Device]] = []
        for row in batch.rows:
            if row.verdict != "pending":
                setattr(stats, row.verdict, getattr(stats, row.verdict) + 1)
                continue
            body = msgspec.json.encode(row.payload)
            for device in batch.devices.get(row.user_id, []):
                if device.id not in row.delivered_to:
                    jobs.append((row, body, device))

        loop = asyncio.get_running_loop()
        # Stop starting sends a little before the lease ends: after it, another worker may
        # have the row, and a reminder must not go out twice.
        deadline = loop.time() + self.lease.total_seconds() * 0.8
        now = self.clock()
        results: list[Result] = [Result("error")] * len(jobs)
        queue = iter(range(len(jobs)))

        # A fixed set of senders drains the queue: at most `concurrency` pushes are being
        # encrypted or awaited at once, so no burst of ready tasks stalls the event loop.
        async def sender() -> None:
            for n in queue:
                row, body, device = jobs[n]
                remaining = deadline - loop.time()
                if remaining <= 0:
                    results[n] = Result("timeout", detail="lease ran out before sending")
                    continue
                results[n] = await webpush.send(
                    self.session,
                    self.vapid,
                    device,
                    body,
                    ttl=max(0, min(MAX_TTL, int((row.stale_at - now).total_seconds()))),
                    urgency=row.urgency,
                    topic=webpush.topic_for(str(row.payload.get("tag", row.kind))),
                    answer_within=min(self.timeout, remaining),
                    now=now,
                )

        await asyncio.gather(*(sender() for _ in range(min(self.concurrency, len(jobs)))))
        stats.pushes = len(results)
        stats.delivered = sum(r.outcome == "delivered" for r in results)

        now = self.clock()
        by_row: dict[int, list[tuple[Device, Result]]] = {}
        attempts = []
        for (row, _, device), result in zip(jobs, results, strict=True):
            by_row.setdefault(row.id, []).append((device, result))
            attempts.append(
                Attempt(
                    outbox_id=row.id,
                    user_id=row.user_id,
                    subscription_id=device.id,
                    outcome=result.outcome,
                    status_code=result.status,
                    detail=result.detail,
                )
            )
        settled = [
            self._settle(row, by_row.get(row.id, []), now, stats)
            for row in batch.rows
            if row.verdict == "pending"
        ]
        if settled:
            await self._record(batch.token, now, settled, attempts)
        return stats

    def _settle(
        self, row: Claimed, results: list[tuple[Device, Result]], now: datetime, stats: Stats
    ) -> Settled:
        delivered = [*row.delivered_to, *(d.id for d, r in results if r.outcome == "delivered")]
        retry = [r for _, r in results if r.outcome in _RETRYABLE]
        next_attempt = now
        if retry:
            waits = [r.retry_after for r in retry if r.retry_after is not None]
            next_attempt = now + webpush.backoff(
                row.attempts, max(waits) if waits else None, self.jitter()
            )
            status: push_store.RowStatus = "pending" if next_attempt < row.stale_at else "expired"
        elif delivered:
            status = "sent"
        elif not results or all(r.outcome == "gone" for _, r in results):
            status = "undeliverable"
        else:
            status = "failed"
        if status == "pending":
            stats.retrying += 1
        else:
            setattr(stats, status, getattr(stats, status) + 1)
        return Settled(
            outbox_id=row.id, status=status, next_attempt_at=next_attempt, delivered_to=delivered
        )

    async def _record(
        self, token: uuid.UUID, now: datetime, settled: list[Settled], attempts: list[Attempt]
    ) -> None:
        for attempt in range(5):
            try:
                async with transaction(self.pool) as conn:
                    await push_store.record(conn, token, now, settled, attempts)
                return
            except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
                log.warning(
                    "dispatcher: recording collided with another writer; again (%d)", attempt
                )
        log.error("dispatcher: could not record a batch; its rows retry after the lease")
