"""Failure counters in PostgreSQL, so every app process sees the same limits."""

from __future__ import annotations

from datetime import timedelta

from server.db import Connection


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


async def clear_failures(conn: Connection, key: str) -> None:
    await conn.execute("DELETE FROM login_failures WHERE key = $1", key)


async def mark_once(conn: Connection, key: str, window: timedelta) -> bool:
    """A row for ``key`` unless it has one inside the window: True if this call added it."""
    added: bool | None = await conn.fetchval(
        """INSERT INTO login_failures (key)
           SELECT $1 WHERE NOT EXISTS (
               SELECT FROM login_failures WHERE key = $1 AND at > now() - $2::interval)
           RETURNING true""",
        key,
        window,
    )
    return bool(added)


async def delete_older_than(conn: Connection, window: timedelta) -> int:
    result: str = await conn.execute(
        "DELETE FROM login_failures WHERE at <= now() - $1::interval", window
    )
    return int(result.split()[-1])
