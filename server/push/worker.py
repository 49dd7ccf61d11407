"""The reminder worker: the rolling planner, the dispatcher and pruning, side by side.

``python -m server serve`` runs one inside the app when ``AFTERGLOW_WORKER=1`` (the dev
default); ``python -m server worker`` runs one on its own. Any number may run at once.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import asyncpg

from server import db
from server.config import Settings
from server.errors import DB_UNAVAILABLE
from server.push import mailer
from server.push.dispatcher import Dispatcher
from server.push.outbound import push_session
from server.push.vapid import VapidKeys, load_vapid_keys
from server.services import alerts, throttle
from server.store import outbox
from server.store import push as push_store
from server.store import reminders as reminder_store
from server.store import sessions as session_store
from server.timeutil import utc_now

log = logging.getLogger("afterglow.worker")

PLAN_EVERY = 30.0  # seconds between rolling planner passes
PLAN_BATCH = 500  # patients per planner transaction
PRUNE_EVERY = 3600.0
KEEP_HISTORY = timedelta(days=30)


async def plan_pass(pool: db.Pool, now: datetime | None = None) -> int:
    """One rolling planner pass, in transactions of PLAN_BATCH patients. Returns patients
    planned."""
    now = now or utc_now()
    total = 0
    while True:
        async with db.transaction(pool) as conn:
            planned = await reminder_store.rolling_plan(conn, now, limit=PLAN_BATCH)
        total += planned
        if planned < PLAN_BATCH:
            return total


async def prune_pass(pool: db.Pool, now: datetime | None = None) -> int:
    before = (now or utc_now()) - KEEP_HISTORY
    # Kept no longer than they serve: ended sessions, sign-in failures out of the window.
    async with db.transaction(pool) as conn:
        total = await session_store.delete_expired(conn)
    total += await throttle.prune(pool)
    while True:
        async with db.transaction(pool) as conn:
            await push_store.prune_attempts(conn, before)
            pruned = await outbox.prune_finished(conn, "push_outbox", before)
        total += pruned
        if pruned == 0:
            return total


async def _every(seconds: float, name: str, job: Callable[[], Awaitable[object]]) -> None:
    while True:
        try:
            await job()
        except DB_UNAVAILABLE as exc:
            log.warning("%s: database unavailable (%s); will retry", name, type(exc).__name__)
        except Exception:
            log.exception("%s failed; will retry", name)
        await asyncio.sleep(seconds)


def freeze_startup_objects() -> None:
    """Take what is alive now (modules, the app, settings) out of the cyclic garbage
    collector's sight. A full collection walks every tracked object; with start-up's objects
    frozen it walks only what came after, so it no longer holds the event loop for tens of
    milliseconds while pushes are being sent. Frozen objects are still freed when their last
    reference goes; only a reference cycle among them would stay."""
    gc.collect()
    gc.freeze()


async def run(pool: db.Pool, settings: Settings, vapid: VapidKeys) -> None:
    """Run until cancelled."""
    freeze_startup_objects()
    async with push_session(settings) as session:
        dispatcher = Dispatcher(
            pool,
            vapid,
            session,
            concurrency=settings.push_concurrency,
            timeout=settings.push_timeout,
            lease=timedelta(seconds=settings.push_lease_seconds),
        )
        log.info("reminder worker started")
        await asyncio.gather(
            _every(PLAN_EVERY, "planner", lambda: plan_pass(pool)),
            _every(1.0, "dispatcher", dispatcher.run),
            _every(PRUNE_EVERY, "pruning", lambda: prune_pass(pool)),
            mailer.run(pool, settings),
            _every(
                alerts.ESCALATE_EVERY, "escalation", lambda: alerts.escalation_pass(pool, settings)
            ),
        )


async def run_standalone(settings: Settings) -> int:
    """``python -m server worker``: until SIGINT or SIGTERM."""
    vapid = load_vapid_keys(settings)
    url = await db.database_url(settings)
    if settings.migrate_on_start:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            await db.migrate(conn)
        finally:
            await conn.close()
    # Planning and sending are about every patient: the worker works as the tables' owner,
    # whose row-level security policy sees every row (migrations/0009).
    pool = await db.create_pool(url, settings, max_size=min(settings.db_pool_size, 4))
    task = asyncio.create_task(run(pool, settings, vapid))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    print(f"Afterglow reminder worker running (VAPID key from {vapid.source})", flush=True)
    try:
        await task
    except asyncio.CancelledError:
        pass
    finally:
        await pool.close()
    return 0
