"""Check-ins: PUT (idempotent upsert by client UUID), GET one or a page, DELETE (tombstone).

These endpoints are the patient's own log: a clinician account gets 403 (it has no log of its
own; shared patients' data is read through /patients/{id}/...). Another patient's id is 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Controller, Response, delete, get, put
from litestar.di import Provide
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from server import security
from server.access import Access, own_access
from server.api import CurrentUser, DbPool, JSONBody
from server.api.entries import (
    PAGE_DEFAULT,
    PAGE_MAX,
    Page,
    change_time,
    day_range,
    paginate,
    parse_day,
    parse_entry_id,
    read_page_token,
)
from server.db import Connection, connection, transaction
from server.domain.checkins import AwareDateTime, CheckInContent, check_checkin, checkin_record
from server.domain.records import CheckIn
from server.domain.sync import content_version
from server.problems import Conflict, NotFound
from server.store import checkins as checkin_store
from server.store.sync import Written
from server.timeutil import utc_now

SUPERSEDED = "A newer change to this entry is already stored; fetch it and edit that."


class CheckInPut(CheckInContent, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # The client's change time for the conflict rule; omitted, the server's clock is used.
    updated_at: AwareDateTime | None = None


async def record_checkin(
    conn: Connection,
    access: Access,
    zone: ZoneInfo,
    checkin_id: UUID,
    content: CheckInContent,
    *,
    updated_at: datetime,
    now: datetime,
) -> tuple[Written, CheckIn | None]:
    """Validate and save one check-in (the PUT endpoint and sync both come here)."""
    content = check_checkin(content, now)
    record = checkin_record(
        content,
        checkin_id=checkin_id,
        patient_id=access.patient_id,
        zone=zone,
        updated_at=updated_at,
    )
    return await checkin_store.save_checkin(conn, access, record, content_version(content))


class CheckInController(Controller):
    path = "/api/v1/checkins"
    tags = ["log"]
    dependencies = {"user": Provide(security.provide_patient)}

    @put("/{checkin_id:str}", status_code=HTTP_200_OK)
    async def put_checkin(
        self, checkin_id: FromPath[str], data: JSONBody[CheckInPut], user: CurrentUser, pool: DbPool
    ) -> Response[CheckIn]:
        """Create or replace the check-in with this client-made id: 201 when new, else 200."""
        entry_id = parse_entry_id(checkin_id)
        access = own_access(user)
        now = utc_now()
        updated_at = change_time(data.updated_at, now)
        # One statement, no explicit transaction: the write path is a single round trip.
        async with connection(pool) as conn:
            written, stored = await record_checkin(
                conn, access, user.zone, entry_id, data, updated_at=updated_at, now=now
            )
            if written.outcome == "superseded":
                raise Conflict(SUPERSEDED, field="updated_at")
            if stored is None:  # the same change again: answer with what is stored
                stored = await checkin_store.checkin_by_id(conn, access, entry_id)
        if stored is None:
            raise NotFound()
        return Response(stored, status_code=HTTP_201_CREATED if written.inserted else HTTP_200_OK)

    @get("/{checkin_id:str}")
    async def get_checkin(
        self, checkin_id: FromPath[str], user: CurrentUser, pool: DbPool
    ) -> CheckIn:
        entry_id = parse_entry_id(checkin_id)
        access = own_access(user)
        async with transaction(pool) as conn:
            found = await checkin_store.checkin_by_id(conn, access, entry_id)
        if found is None:
            raise NotFound("No such check-in.")
        return found

    @get("")
    async def list_checkins(
        self,
        user: CurrentUser,
        pool: DbPool,
        first: Annotated[str | None, QueryParameter(name="from", max_length=10)] = None,
        last: Annotated[str | None, QueryParameter(name="to", max_length=10)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> Page[CheckIn]:
        """Check-ins on local days ``from``..``to`` (default: the last 30 days), newest first."""
        access = own_access(user)
        first_day, last_day = day_range(
            parse_day(first, "from"), parse_day(last, "to"), user.zone, utc_now()
        )
        before = read_page_token(cursor)
        async with transaction(pool) as conn:
            items = await checkin_store.checkins_between(
                conn, access, first_day, last_day, limit=limit + 1, before=before
            )
        return paginate(items, limit, lambda item: (item.recorded_at, item.id))

    @delete("/{checkin_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_checkin(
        self, checkin_id: FromPath[str], user: CurrentUser, pool: DbPool
    ) -> None:
        """Erase the content and keep a tombstone, so the patient's other devices drop it too."""
        entry_id = parse_entry_id(checkin_id)
        access = own_access(user)
        async with transaction(pool) as conn:
            deleted = await checkin_store.is_deleted(conn, access, entry_id)
            if deleted is None:
                raise NotFound("No such check-in.")
            if not deleted:
                written = await checkin_store.delete_checkin(conn, access, entry_id, utc_now())
                if written.outcome == "superseded":
                    raise Conflict(SUPERSEDED)
