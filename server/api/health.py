"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import msgspec
from litestar import Response, get

from server.services import health
from server.web import DbPool


class Health(msgspec.Struct):
    status: str


@get("/healthz", tags=["operations"])
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@get("/readyz", tags=["operations"])
async def readyz(pool: DbPool) -> Response[Health]:
    """The database answers and every migration is applied."""
    ready = await health.ready(pool)
    return Response(
        Health(status="ready" if ready else "unavailable"), status_code=200 if ready else 503
    )
