"""The one throttle: counted in PostgreSQL per key (an account, an address), so every app
process sees the same limits and a restart forgets nothing.

Two ways of counting. Failures (``check``, then ``failed``): sign-up, recovery, share codes.
Attempts (``attempt``, then ``forgive``), for sign-in: each attempt is counted before the
password is looked at, in the same transaction that decides whether it may go on, with the
key's row locked meanwhile, so a burst of concurrent guesses gets no more tries than the same
guesses one after another; one that succeeds is taken back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import timedelta

import msgspec

from server.db import Pool, transaction
from server.errors import TooManyAttempts
from server.store import throttle as counters
from server.store.throttle import Count

WINDOW = timedelta(minutes=15)
NO_WAIT = timedelta(0)


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """How many attempts one key gets: ``free`` of them within ``window`` of the first; then,
    with a ``first_wait``, one more after each wait, the waits doubling from it up to
    ``longest_wait``; without, none until the window ends. The count starts again with the
    first attempt after the window."""

    free: int
    window: timedelta
    first_wait: timedelta | None = None
    longest_wait: timedelta = NO_WAIT

    def live(self, count: Count) -> int:
        """The attempts that still count."""
        return count.attempts if count.now < count.since + self.window else 0

    def wait(self, count: Count) -> timedelta:
        """How long until the key's next attempt may go on (zero: at once)."""
        attempts = self.live(count)
        if attempts < self.free:
            return NO_WAIT
        window_ends = count.since + self.window
        if self.first_wait is None:
            return window_ends - count.now
        doubled = self.first_wait * (1 << min(attempts - self.free, 30))
        until = min(count.last_at + min(doubled, self.longest_wait), window_ends)
        return max(until - count.now, NO_WAIT)

    def counted(self, count: Count) -> Count:
        """The count once this attempt is in it."""
        attempts = self.live(count)
        return msgspec.structs.replace(
            count,
            attempts=attempts + 1,
            since=count.since if attempts else count.now,
            last_at=count.now,
        )


# For someone already past the password (a sign-in waiting for its code, a session's holder),
# per account: five, then one more after each wait (1 minute, doubling, at most 15).
PAST_THE_PASSWORD = Rule(
    free=5,
    window=timedelta(hours=1),
    first_wait=timedelta(minutes=1),
    longest_wait=timedelta(minutes=15),
)


ONCE = Rule(free=1, window=WINDOW)


class Refused(TooManyAttempts):
    """An attempt the rules stopped (429), counted nowhere; ``keys`` are those that stopped it."""

    def __init__(self, detail: str, *, retry_after: int, keys: frozenset[str]) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.keys = keys


class Attempt(msgspec.Struct, frozen=True):
    """An attempt counted against its keys; ``at_limit``: the keys it brought to their limit
    (the next attempt on them waits, unless this one is forgiven)."""

    keys: frozenset[str]
    at_limit: frozenset[str]


async def attempt(pool: Pool, rules: Mapping[str, Rule], message: str) -> Attempt:
    """Count one attempt against every key of ``rules`` (key → its rule), or, if any key must
    wait, against none and raise Refused, ``message`` the reason (the error adds the wait)."""
    async with transaction(pool) as conn:
        counts = await counters.hold_attempts(conn, list(rules))
        waits = {c.key: rules[c.key].wait(c) for c in counts}
        longest = max(waits.values(), default=NO_WAIT)
        if longest > NO_WAIT:
            seconds = max(1, math.ceil(longest.total_seconds()))
            raise Refused(
                message,
                retry_after=seconds,
                keys=frozenset(key for key, wait in waits.items() if wait > NO_WAIT),
            )
        after = [rules[c.key].counted(c) for c in counts]
        await counters.count_attempts(conn, after, [c.since + rules[c.key].window for c in after])
    return Attempt(
        keys=frozenset(rules),
        at_limit=frozenset(c.key for c in after if c.attempts >= rules[c.key].free),
    )


async def forgive(pool: Pool, attempt: Attempt, forget: Sequence[str] = ()) -> None:
    """Take back an attempt that succeeded; the keys of ``forget`` start again from nothing."""
    async with transaction(pool) as conn:
        await counters.forgive_attempt(
            conn,
            forget=list(forget),
            take_back=[key for key in attempt.keys if key not in forget],
        )


async def check(pool: Pool, limits: Sequence[tuple[str, int]], message: str) -> None:
    """Raise TooManyAttempts when any key has ``limit`` failures inside the window. ``message``
    is the reason ("Too many failed sign-ins."); the error adds the wait in the reader's words."""
    async with transaction(pool) as conn:
        counts = await counters.recent_failures(conn, [key for key, _ in limits], WINDOW)
    for key, limit in limits:
        failures, retry = counts.get(key, (0, 0.0))
        if failures >= limit:
            seconds = max(1, math.ceil(retry))
            raise TooManyAttempts(message, retry_after=seconds)


async def failed(pool: Pool, keys: Sequence[str]) -> None:
    async with transaction(pool) as conn:
        await counters.record_failure(conn, list(keys), WINDOW)


async def first_refusal(pool: Pool, key: str) -> bool:
    """True for the first refusal of ``key`` inside the window, False for the ones after it,
    however many come at once."""
    try:
        await attempt(pool, {"refused:" + key: ONCE}, "")
    except Refused:
        return False
    return True


async def prune(pool: Pool) -> int:
    """Forget every failure and every count of attempts that has left its window (the worker's
    pruning pass)."""
    async with transaction(pool) as conn:
        failures = await counters.delete_older_than(conn, WINDOW)
        return failures + await counters.delete_ended_attempts(conn)
