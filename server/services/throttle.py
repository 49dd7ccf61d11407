"""The one throttle: failures counted in PostgreSQL per key (an account, an address), so every
app process sees the same limits and a restart forgets nothing. Sign-in and share codes use it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta

from server.db import Pool, transaction
from server.errors import TooManyAttempts
from server.store import throttle as counters

WINDOW = timedelta(minutes=15)


async def check(pool: Pool, limits: Sequence[tuple[str, int]], message: str) -> None:
    """Raise TooManyAttempts when any key has ``limit`` failures inside the window. ``message``
    is completed with the wait, in minutes ("Too many failed sign-ins.")."""
    async with transaction(pool) as conn:
        counts = await counters.recent_failures(conn, [key for key, _ in limits], WINDOW)
    for key, limit in limits:
        failures, retry = counts.get(key, (0, 0.0))
        if failures >= limit:
            seconds = max(1, math.ceil(retry))
            raise TooManyAttempts(
                f"{message} Try again in {math.ceil(seconds / 60)} minutes.", retry_after=seconds
            )


async def failed(pool: Pool, keys: Sequence[str]) -> None:
    async with transaction(pool) as conn:
        await counters.record_failure(conn, list(keys), WINDOW)


async def forget(pool: Pool, key: str) -> None:
    async with transaction(pool) as conn:
        await counters.clear_failures(conn, key)


async def first_refusal(pool: Pool, key: str) -> bool:
    """True for the first refusal of ``key`` inside the window, False for the ones after it."""
    async with transaction(pool) as conn:
        return await counters.mark_once(conn, "refused:" + key, WINDOW)


async def prune(pool: Pool) -> int:
    """Forget every failure that has left the window (the worker's pruning pass)."""
    async with transaction(pool) as conn:
        return await counters.delete_older_than(conn, WINDOW)
