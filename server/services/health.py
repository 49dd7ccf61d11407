"""Readiness: the database answers and every migration is applied."""

from __future__ import annotations

import asyncio

from server.db import Pool, connection, migrations_current
from server.errors import DB_UNAVAILABLE

TIMEOUT = 3.0


async def ready(pool: Pool) -> bool:
    try:
        async with asyncio.timeout(TIMEOUT), connection(pool) as conn:
            return await migrations_current(conn)
    except DB_UNAVAILABLE:
        return False
