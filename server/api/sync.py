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
from server.domain.safety import Safety
from server.domain.sync import MAX_BATCH, ServerChange
from server.problems import Problem, problem_of
from server.services import logbook
from server.services.access import own_access
from server.web import AppSettings, CurrentUser, DbPool, Input, JSONBody, patients_only

# A full batch of long notes is bigger than the app-wide body limit; clients split by size too.
MAX_SYNC_BODY_BYTES = 4 * 1024 * 1024


class SyncIn(Input):
    changes: Annotated[list[Any], msgspec.Meta(max_length=MAX_BATCH)]
    since: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class ItemResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str | None
    status: str  # applied | unchanged | superseded | rejected
    problem: Problem | None = None
    safety: Safety | None = None  # a PHQ-9 with item 9 above 0: show crisis resources now


class SyncOut(msgspec.Struct, kw_only=True):
    results: list[ItemResult]  # one per change, in the order sent
    # Everything changed since the cursor (tombstones included), then the current state of any
    # entry whose change here was superseded: a device applies them all, in order.
    changes: list[ServerChange]
    cursor: str
    more: bool  # true: sync again with the new cursor for the rest


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["log"]
    guards = [patients_only]

    @post("", status_code=HTTP_200_OK, request_max_body_size=MAX_SYNC_BODY_BYTES)
    async def sync(
        self, data: JSONBody[SyncIn], user: CurrentUser, pool: DbPool, settings: AppSettings
    ) -> SyncOut:
        """Apply up to 500 changes (later ``updated_at`` wins), then send the server's changes."""
        synced = await logbook.sync(
            pool,
            own_access(user),
            user.zone,
            data.changes,
            data.since,
            clinic_phone=clinic_phone(user, settings),
        )
        return SyncOut(
            results=[
                ItemResult(
                    id=result.id,
                    status=result.status,
                    problem=None if result.error is None else problem_of(result.error),
                    safety=result.safety,
                )
                for result in synced.results
            ],
            changes=synced.changes,
            cursor=synced.cursor,
            more=synced.more,
        )
