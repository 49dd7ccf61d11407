"""The dispatcher: claims due outbox rows, pushes them to every device of their user, and
records what happened.

Any number of dispatchers (in any number of processes) can run against one database. A claim
takes rows with FOR UPDATE SKIP LOCKED and leases them (their next_attempt_at moves one lease
ahead), so a dispatcher that dies mid-batch leaves its rows to another once the lease ends, and
a row is only ever held by one dispatcher. Sending stops before the lease runs out.

Outcomes per device: 2xx delivered; 404/410 the subscription is deleted; 429, 5xx, timeouts and
network errors are retried with exponential backoff (never sooner than Retry-After) until the
reminder is stale, when it is marked expired instead of being sent late; 401/403 means our
VAPID credentials are wrong: logged loudly, the subscription kept, no retry. A redirect (3xx) is
not followed, and an endpoint that is not an allowed push service is not connected to
(server/push/outbound.py): both are logged and count as failed, without a retry.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import aiohttp
import asyncpg
import msgspec
from pywebpush import WebPushException

from server.db import Pool, transaction
from server.domain.devices import Device
from server.errors import DB_UNAVAILABLE
from server.push import webpush
from server.push.tally import Tally
from server.push.vapid import VapidKeys
from server.push.webpush import Result
from server.store import push as push_store
from server.store.push import Attempt, Claimed, Settled
from server.timeutil import utc_now

log = logging.getLogger("afterglow.push")

MAX_TTL: Final = 28 * 24 * 3600
_RETRYABLE: Final = ("retry", "timeout")
# Work the dispatcher starts in one event-loop turn before it lets the loop go round (s).
_TURN_BUDGET: Final = 0.001


class Stats(Tally, kw_only=True):
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


class Batch(msgspec.Struct, kw_only=True):
    token: uuid.UUID
    rows: list[Claimed]
    devices: dict[uuid.UUID, list[Device]]
    claimed_at: float = 0.0  # event-loop time of the claim: the lease runs from here


@dataclass(slots=True, eq=False)
class _Job:
    """One push of one claimed row to one device."""

    round: _Round
    index: int
    row: Claimed
    device: Device
    body: bytes
    headers: dict[str, str]  # the row's TTL, Urgency and Topic: the same for each of its devices
    message: webpush.Message | None = None


class _Round:
    """A claimed batch on its way: its pushes, their results as they come, and a future that
    is done when every push has a result."""

    def __init__(self, batch: Batch, now: datetime, deadline: float) -> None:
        self.batch = batch
        self.now = now
        self.deadline = deadline  # event-loop time after which no push of it is started
        self.stats = Stats(claimed=len(batch.rows))
        self.jobs: list[_Job] = []
        self.results: list[Result] = []
        self._left = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def add(self, row: Claimed, device: Device, body: bytes, headers: dict[str, str]) -> None:
        self.jobs.append(_Job(self, len(self.jobs), row, device, body, headers))

    def start(self) -> None:
        self.results = [Result("error")] * len(self.jobs)
        self._left = len(self.jobs)
        if not self._left:
            self.done.set_result(None)

    def finish(self, job: _Job, result: Result) -> None:
        self.results[job.index] = result
        self._left -= 1
        if not self._left and not self.done.done():
            self.done.set_result(None)


_LEASE_ENDED: Final = Result("timeout", detail="lease ran out before sending")


class _Pacer:
    """Spreads CPU-heavy steps over event-loop turns.

    Encrypting a push (~0.3 ms) and starting or finishing its request (~0.3 ms) are
    synchronous. With 32 requests answered at once, their senders would all run in one turn,
    and other tasks (the app's requests, when the worker runs inside the app) would wait for
    all of them. ``await pacer()`` before such a step returns at once while this turn has
    used less than ``budget`` seconds since its first paced step, else in a later turn."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self._turn_started: float | None = None

    def _next_turn(self) -> None:
        self._turn_started = None

    async def __call__(self) -> None:
        while True:
            now = time.perf_counter()
            if self._turn_started is None:
                self._turn_started = now
                # Runs first thing next turn: callbacks scheduled now go after this turn's.
                asyncio.get_running_loop().call_soon(self._next_turn)
                return
            if now - self._turn_started < self.budget:
                return
            await asyncio.sleep(0)


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
        claimed_at = asyncio.get_running_loop().time()
        async with transaction(self.pool) as conn:
            rows = await push_store.claim_due(
                conn, now, limit=self.batch_size, lease=self.lease, token=token
            )
            users = sorted({r.user_id for r in rows if r.verdict == "pending"})
            devices = await push_store.devices_of(conn, users) if users else {}
        return Batch(token=token, rows=rows, devices=devices, claimed_at=claimed_at)

    async def run_once(self, now: datetime | None = None) -> Stats:
        """Claim one batch, send it, record the outcome."""
        return await self._flow(now, once=True)

    async def run_until_idle(self, now: datetime | None = None) -> Stats:
        """Batches until a claim comes back short of a full one (tests, the CLI, benches).

        The batches flow: the next is claimed while one is encrypted and encrypted while the
        last pushes of the one before are still out, and each is recorded as soon as all its
        answers are in."""
        return await self._flow(now, once=False)

    async def run(self, idle: float = 1.0) -> None:
        """Forever: full batches follow each other at once; after a short one, wait ``idle`` s."""
        pause = idle
        while True:
            try:
                await self.run_until_idle()
            except DB_UNAVAILABLE as exc:
                log.warning("dispatcher: database unavailable (%s); retrying", type(exc).__name__)
                pause = min(pause * 2, 30.0)
                await asyncio.sleep(pause)
                continue
            pause = idle
            await asyncio.sleep(idle)

    async def deliver(self, batch: Batch) -> Stats:
        """Send a claimed batch and record the outcome."""
        return await self._flow(None, once=True, batch=batch)

    async def _flow(self, now: datetime | None, *, once: bool, batch: Batch | None = None) -> Stats:
        """Claim, encrypt, send and record, batch after batch.

        One task claims and encrypts; ``concurrency`` senders post what it has encrypted (at
        most ``concurrency`` messages wait encrypted); each batch is settled and recorded by a
        task of its own once its last answer is in. A failing claim stops the flow after the
        pushes already out are answered and recorded, so none is sent twice."""
        total = Stats()
        queue: asyncio.Queue[_Job | None] = asyncio.Queue(self.concurrency)
        pace = _Pacer(_TURN_BUDGET)
        senders = [asyncio.create_task(self._sender(queue, pace)) for _ in range(self.concurrency)]
        recorders: list[asyncio.Task[None]] = []
        ahead: asyncio.Task[Batch] | None = None
        failure: Exception | None = None
        try:
            try:
                while True:
                    if batch is None:
                        batch = await (ahead or self.claim(now))
                        ahead = None
                        await asyncio.sleep(0)  # reading the claim and planning its sends
                    round_ = self._round(batch)
                    recorders.append(asyncio.create_task(self._settle_round(round_, total)))
                    full = not once and len(batch.rows) == self.batch_size
                    if full:
                        # The next claim's round trip runs while this batch is encrypted, so
                        # the senders do not run dry waiting for the database between batches.
                        ahead = asyncio.create_task(self.claim(now))
                    await self._encrypt(round_, queue, pace)
                    if not full:
                        break
                    batch = None
            except Exception as exc:  # most likely the database; raised once the rest is done
                failure = exc
                if ahead is not None:  # its rows, if any, go to whoever claims after the lease
                    ahead.cancel()
            for _ in senders:
                await queue.put(None)
            await asyncio.gather(*senders)
            outcomes = await asyncio.gather(*recorders, return_exceptions=True)
        except BaseException:
            for task in (*senders, *recorders, *([ahead] if ahead else [])):
                task.cancel()
            raise
        if failure is not None:
            raise failure
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return total

    def _round(self, batch: Batch) -> _Round:
        loop = asyncio.get_running_loop()
        claimed_at = batch.claimed_at or loop.time()
        # Stop starting sends a little before the lease ends: after it, another worker may
        # have the row, and a reminder must not go out twice.
        round_ = _Round(batch, self.clock(), claimed_at + self.lease.total_seconds() * 0.8)
        for row in batch.rows:
            if row.verdict != "pending":
                setattr(round_.stats, row.verdict, getattr(round_.stats, row.verdict) + 1)
                continue
            body = msgspec.json.encode(row.payload)
            ttl = max(0, min(MAX_TTL, int((row.stale_at - round_.now).total_seconds())))
            headers = webpush.row_headers(
                ttl=ttl, urgency=row.urgency, topic=webpush.topic_of(row.payload, row.kind)
            )
            for device in batch.devices.get(row.user_id, []):
                if device.id not in row.delivered_to:
                    round_.add(row, device, body, headers)
        round_.start()
        return round_

    async def _encrypt(
        self, round_: _Round, queue: asyncio.Queue[_Job | None], pace: _Pacer
    ) -> None:
        """Encrypt each push of the round and hand it to the senders (at most
        ``concurrency`` wait encrypted)."""
        loop = asyncio.get_running_loop()
        for job in round_.jobs:
            await pace()
            if loop.time() >= round_.deadline:
                round_.finish(job, _LEASE_ENDED)
                continue
            try:
                job.message = webpush.encrypt(self.vapid, job.device, job.body, job.headers)
            except WebPushException as exc:
                round_.finish(job, Result("error", detail=str(exc.message)[:200]))
                continue
            except Exception as exc:  # a bad subscription must not stop the other sends
                log.exception("push to device %s failed unexpectedly", job.device.id)
                round_.finish(job, Result("error", detail=type(exc).__name__))
                continue
            await queue.put(job)

    async def _sender(self, queue: asyncio.Queue[_Job | None], pace: _Pacer) -> None:
        loop = asyncio.get_running_loop()
        while (job := await queue.get()) is not None:
            await pace()
            round_ = job.round
            remaining = round_.deadline - loop.time()
            if remaining <= 0 or job.message is None:
                round_.finish(job, _LEASE_ENDED)
                continue
            result = await webpush.post(
                self.session,
                job.message,
                answer_within=min(self.timeout, remaining),
                now=round_.now,
            )
            job.message = None
            round_.finish(job, result)

    async def _settle_round(self, round_: _Round, total: Stats) -> None:
        await round_.done
        stats = round_.stats
        stats.pushes = len(round_.results)
        stats.delivered = sum(r.outcome == "delivered" for r in round_.results)

        now = self.clock()
        by_row: dict[int, list[tuple[Device, Result]]] = {}
        attempts = []
        for job, result in zip(round_.jobs, round_.results, strict=True):
            by_row.setdefault(job.row.id, []).append((job.device, result))
            attempts.append(
                Attempt(
                    outbox_id=job.row.id,
                    user_id=job.row.user_id,
                    subscription_id=job.device.id,
                    outcome=result.outcome,
                    status_code=result.status,
                    detail=result.detail,
                )
            )
        settled = [
            self._settle(row, by_row.get(row.id, []), now, stats)
            for row in round_.batch.rows
            if row.verdict == "pending"
        ]
        if settled:
            await asyncio.sleep(0)  # settling the batch and writing it down: two turns
            await self._record(round_.batch.token, now, settled, attempts)
        total.add(stats)

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
