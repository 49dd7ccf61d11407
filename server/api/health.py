"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Response, get

from server.api import DbPool
from server.db import DB_UNAVAILABLE, connection, migrations_current


class Health(msgspec.Struct):
    status: str


@get("/healthz", tags=["operations"])
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@get("/readyz", tags=["operations"])
async def readyz(pool: DbPool) -> Response[Health]:
    """The database answers and every migration is applied."""
    try:
        async with asyncio.timeout(3):
            async with connection(pool) as conn:
                ready = await migrations_current(conn)
    except DB_UNAVAILABLE:
        ready = False
    status = "ready" if ready else "unavailable"
    return Response(Health(status=status), status_code=200 if ready else 503)
