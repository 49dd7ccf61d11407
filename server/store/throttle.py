"""Counters in PostgreSQL, so every app process sees the same limits: failures, one row each
(login_failures), and attempts (a sign-in, a code typed), one row per key, counted before what
they try is checked (sign_in_attempts, migrations/0018)."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from server.db import Connection


class Count(msgspec.Struct, frozen=True, kw_only=True):
    """A key's attempts since ``since``; ``now`` is the database's clock at the reading."""

    key: str
    attempts: int
    since: datetime
    last_at: datetime
    now: datetime


async def recent_failures(
    conn: Connection, keys: list[str], window: timedelta
) -> dict[str, tuple[int, float]]:
    """For each key: failures inside the window, and seconds until the oldest one leaves it."""
    rows = await conn.fetch(
        """SELECT key, count(*) AS n,
                  extract(epoch FROM min(at) + $2::interval - now()) AS retry
             FROM login_failures
            WHERE key = ANY($1::text[]) AND at > now() - $2::interval
            GROUP BY key""",
        keys,
        window,
    )
    return {r["key"]: (r["n"], float(r["retry"])) for r in rows}


async def record_failure(conn: Connection, keys: list[str], window: timedelta) -> None:
    await conn.execute("INSERT INTO login_failures (key) SELECT unnest($1::text[])", keys)
    await conn.execute(
        "DELETE FROM login_failures WHERE key = ANY($1::text[]) AND at <= now() - $2::interval",
        keys,
        window,
    )


async def delete_older_than(conn: Connection, window: timedelta) -> int:
    result: str = await conn.execute(
        "DELETE FROM login_failures WHERE at <= now() - $1::interval", window
    )
    return int(result.split()[-1])


async def hold_attempts(conn: Connection, keys: list[str]) -> list[Count]:
    """Each key's count, its row locked until the caller's transaction ends (a key without one
    gets a row at zero): a concurrent attempt on any of the keys waits for this one to be
    counted. Locked in the order of the keys, so two attempts never wait on each other."""
    rows = await conn.fetch(
        """INSERT INTO sign_in_attempts AS a (key)
           SELECT k FROM unnest($1::text[]) AS k ORDER BY k
           ON CONFLICT (key) DO UPDATE SET key = a.key
           RETURNING a.key, a.attempts, a.since, a.last_at, now() AS now""",
        sorted(set(keys)),
    )
    return [msgspec.convert(dict(r), Count) for r in rows]


async def count_attempts(conn: Connection, counts: list[Count], ends: list[datetime]) -> None:
    """Write the counts an attempt leaves (rows held by ``hold_attempts``), each to be
    forgotten at its end in ``ends``."""
    await conn.execute(
        """UPDATE sign_in_attempts AS a
              SET attempts = c.attempts, since = c.since, last_at = c.last_at, ends_at = c.ends_at
             FROM unnest($1::text[], $2::integer[], $3::timestamptz[], $4::timestamptz[],
                         $5::timestamptz[])
                  AS c (key, attempts, since, last_at, ends_at)
            WHERE a.key = c.key""",
        [c.key for c in counts],
        [c.attempts for c in counts],
        [c.since for c in counts],
        [c.last_at for c in counts],
        ends,
    )


async def forgive_attempt(conn: Connection, *, forget: list[str], take_back: list[str]) -> None:
    """An attempt that succeeded: the keys of ``forget`` start again from nothing, and the
    attempt is taken back from the counts of ``take_back``."""
    await conn.execute("DELETE FROM sign_in_attempts WHERE key = ANY($1::text[])", forget)
    await conn.execute(
        """UPDATE sign_in_attempts SET attempts = greatest(attempts - 1, 0)
            WHERE key = ANY($1::text[])""",
        take_back,
    )


async def delete_ended_attempts(conn: Connection) -> int:
    result: str = await conn.execute("DELETE FROM sign_in_attempts WHERE ends_at <= now()")
    return int(result.split()[-1])
