"""GET /api/v1/me/export: everything a patient has stored, as one JSON document."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from server.services.export import export_of
from server.web import CurrentUser, DbPool, client_address, patients_only


@get("/api/v1/me/export", tags=["accounts"], guards=[patients_only])
async def export_me(
    request: Request[Any, Any, Any], user: CurrentUser, pool: DbPool
) -> Response[dict[str, Any]]:
    return Response(
        await export_of(pool, user, client_address(request)),
        headers={"Content-Disposition": 'attachment; filename="afterglow-export.json"'},
    )
