"""Infusion sessions the patient keeps in their log (clinician access comes with sharing)."""

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
from server.api.checkins import SUPERSEDED
from server.api.entries import (
    PAGE_DEFAULT,
    PAGE_MAX,
    Page,
    change_time,
    paginate,
    parse_day,
    parse_entry_id,
    read_page_token,
)
from server.db import Connection, transaction
from server.domain.checkins import AwareDateTime
from server.domain.infusions import InfusionContent, check_infusion, infusion_record
from server.domain.records import Infusion
from server.domain.sync import content_version
from server.problems import Conflict, InvalidField, NotFound
from server.store import infusions as infusion_store
from server.store.sync import Written
from server.timeutil import utc_now


class InfusionPut(InfusionContent, frozen=True, kw_only=True, forbid_unknown_fields=True):
    updated_at: AwareDateTime | None = None


async def record_infusion(
    conn: Connection,
    access: Access,
    zone: ZoneInfo,
    infusion_id: UUID,
    content: InfusionContent,
    *,
    updated_at: datetime,
    updated_by: UUID,
    now: datetime,
) -> tuple[Written, Infusion | None]:
    """Validate and save one infusion; ``updated_by`` is whoever made the change."""
    content = check_infusion(content, now)
    record = infusion_record(
        content,
        infusion_id=infusion_id,
        patient_id=access.patient_id,
        zone=zone,
        updated_at=updated_at,
    )
    return await infusion_store.save_infusion(
        conn, access, record, content_version(content), updated_by=updated_by
    )


class InfusionController(Controller):
    path = "/api/v1/infusions"
    tags = ["log"]
    dependencies = {"user": Provide(security.provide_patient)}

    @put("/{infusion_id:str}", status_code=HTTP_200_OK)
    async def put_infusion(
        self,
        infusion_id: FromPath[str],
        data: JSONBody[InfusionPut],
        user: CurrentUser,
        pool: DbPool,
    ) -> Response[Infusion]:
        entry_id = parse_entry_id(infusion_id)
        access = own_access(user)
        now = utc_now()
        updated_at = change_time(data.updated_at, now)
        async with transaction(pool) as conn:  # the write and its reminders, together
            written, stored = await record_infusion(
                conn,
                access,
                user.zone,
                entry_id,
                data,
                updated_at=updated_at,
                updated_by=user.id,
                now=now,
            )
            if written.outcome == "superseded":
                raise Conflict(SUPERSEDED, field="updated_at")
            if stored is None:
                stored = await infusion_store.infusion_by_id(conn, access, entry_id)
        if stored is None:
            raise NotFound()
        return Response(stored, status_code=HTTP_201_CREATED if written.inserted else HTTP_200_OK)

    @get("/{infusion_id:str}")
    async def get_infusion(
        self, infusion_id: FromPath[str], user: CurrentUser, pool: DbPool
    ) -> Infusion:
        entry_id = parse_entry_id(infusion_id)
        access = own_access(user)
        async with transaction(pool) as conn:
            found = await infusion_store.infusion_by_id(conn, access, entry_id)
        if found is None:
            raise NotFound("No such infusion.")
        return found

    @get("")
    async def list_infusions(
        self,
        user: CurrentUser,
        pool: DbPool,
        first: Annotated[str | None, QueryParameter(name="from", max_length=10)] = None,
        last: Annotated[str | None, QueryParameter(name="to", max_length=10)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> Page[Infusion]:
        """Infusions, latest scheduled first; ``from``/``to`` (local days) narrow it down."""
        access = own_access(user)
        first_day, last_day = parse_day(first, "from"), parse_day(last, "to")
        if first_day is not None and last_day is not None and first_day > last_day:
            raise InvalidField("from", "`from` is after `to`.")
        before = read_page_token(cursor)
        async with transaction(pool) as conn:
            items = await infusion_store.infusions_between(
                conn, access, first_day, last_day, limit=limit + 1, before=before
            )
        return paginate(items, limit, lambda item: (item.scheduled_at, item.id))

    @delete("/{infusion_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_infusion(
        self, infusion_id: FromPath[str], user: CurrentUser, pool: DbPool
    ) -> None:
        """Cancelled sessions are better kept with status ``cancelled``; this erases the entry."""
        entry_id = parse_entry_id(infusion_id)
        access = own_access(user)
        async with transaction(pool) as conn:
            deleted = await infusion_store.is_deleted(conn, access, entry_id)
            if deleted is None:
                raise NotFound("No such infusion.")
            if not deleted:
                written = await infusion_store.delete_infusion(
                    conn, access, entry_id, utc_now(), updated_by=user.id
                )
                if written.outcome == "superseded":
                    raise Conflict(SUPERSEDED)
