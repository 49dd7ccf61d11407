"""POST /api/v1/sync: the device's outbox in, everything changed since its cursor out.

Each change is checked and applied on its own: a bad one is rejected with a problem naming its
field (``changes[3].data.mood``) and the rest still apply (server/services/logbook.py).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, post
from litestar.status_codes import HTTP_200_OK

from server.api.log import clinic_phone
from server.domain.sync import MAX_BATCH
from server.services import logbook
from server.services.access import own_access
from server.services.logbook import Synced
from server.web import AppSettings, CurrentUser, DbPool, Input, JSONBody, patients_only

# A full batch of long notes is bigger than the app-wide body limit; clients split by size too.
MAX_SYNC_BODY_BYTES = 4 * 1024 * 1024


class SyncIn(Input):
    changes: Annotated[list[Any], msgspec.Meta(max_length=MAX_BATCH)]
    since: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["log"]
    guards = [patients_only]

    @post("", status_code=HTTP_200_OK, request_max_body_size=MAX_SYNC_BODY_BYTES)
    async def sync(
        self, data: JSONBody[SyncIn], user: CurrentUser, pool: DbPool, settings: AppSettings
    ) -> Synced:
        """Apply up to 500 changes (later ``updated_at`` wins), then send the server's changes."""
        return await logbook.sync(
            pool,
            own_access(user),
            user.zone,
            data.changes,
            data.since,
            clinic_phone=clinic_phone(user, settings),
        )
