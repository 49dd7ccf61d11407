"""POST /api/v1/sync: the device's outbox in, everything changed since its cursor out.

Each change is checked and applied on its own: a bad one is rejected with a problem naming its
field (``changes[3].data.mood``) and the rest still apply (server/services/sync.py).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.status_codes import HTTP_200_OK

from server.api.log import clinic_phone
from server.domain.sync import MAX_BATCH
from server.security import ONE_TRIP
from server.services import sync as sync_service
from server.services.sync import Synced
from server.web import AppSettings, DbPool, Input, JSONBody, patients_only

AnyRequest = Request[Any, Any, Any]

# A full batch of long notes is bigger than the app-wide body limit; clients split by size too.
MAX_SYNC_BODY_BYTES = 4 * 1024 * 1024


class SyncIn(Input):
    changes: Annotated[list[Any], msgspec.Meta(max_length=MAX_BATCH)]
    since: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["log"]
    guards = [patients_only]

    @post(
        "",
        status_code=HTTP_200_OK,
        request_max_body_size=MAX_SYNC_BODY_BYTES,
        opt={ONE_TRIP: True},
    )
    async def sync(
        self, request: AnyRequest, data: JSONBody[SyncIn], pool: DbPool, settings: AppSettings
    ) -> Synced:
        """Apply up to 500 changes (later ``updated_at`` wins), then send the server's changes."""
        synced, _ = await sync_service.sync_own(
            pool,
            request.auth,
            data.changes,
            data.since,
            clinic_phone=lambda user: clinic_phone(user, settings),
        )
        return synced
