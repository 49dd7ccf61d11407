"""POST /api/v1/sync: the device's outbox in, everything changed since its cursor out.

Each change is checked and applied on its own: a bad one is rejected with a problem naming its
field (``changes[3].data.mood``) and the rest still apply. The batch runs in one transaction, so
a crash leaves all of it to be retried; replaying it changes nothing (see domain/sync.py).
"""

from __future__ import annotations

import re
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, post
from litestar.di import Provide
from litestar.status_codes import HTTP_200_OK

from server import security
from server.access import Access, own_access
from server.api import AppSettings, CurrentUser, DbPool, Input, JSONBody
from server.api.assessments import record_assessment
from server.api.checkins import record_checkin
from server.api.infusions import record_infusion
from server.config import Settings
from server.db import Connection, transaction
from server.domain.accounts import User
from server.domain.checkins import AwareDateTime, CheckInContent, check_moment
from server.domain.infusions import InfusionContent
from server.domain.instruments import AssessmentContent, needs_safety_response
from server.domain.safety import Safety, clinic_phone_for, crisis_resources
from server.domain.sync import (
    MAX_BATCH,
    Kind,
    Op,
    ServerChange,
    decode_cursor,
    encode_cursor,
)
from server.problems import AppError, InvalidField, NotFound, Problem
from server.store import assessments as assessment_store
from server.store import checkins as checkin_store
from server.store import infusions as infusion_store
from server.store import sync as sync_store
from server.store.sync import Written
from server.timeutil import utc_now

# A full batch of long notes is bigger than the app-wide body limit; clients split by size too.
MAX_SYNC_BODY_BYTES = 4 * 1024 * 1024
FEED_LIMIT = 500
_ATTEMPTS = 3

Status = Literal["applied", "unchanged", "superseded", "rejected"]


class SyncIn(Input):
    changes: Annotated[list[Any], msgspec.Meta(max_length=MAX_BATCH)]
    since: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class ChangeIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: Kind
    id: UUID
    op: Op
    updated_at: AwareDateTime
    data: Any = None  # the entry's content for an upsert; ignored for a delete


class ItemResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str | None
    status: Status
    problem: Problem | None = None
    safety: Safety | None = None  # a PHQ-9 with item 9 above 0: show crisis resources now


class SyncOut(msgspec.Struct, kw_only=True):
    results: list[ItemResult]  # one per change, in the order sent
    # Everything changed since the cursor (tombstones included), then the current state of any
    # entry whose change here was superseded: a device applies them all, in order.
    changes: list[ServerChange]
    cursor: str
    more: bool  # true: sync again with the new cursor for the rest


_CONTENT: dict[str, type[msgspec.Struct]] = {
    "checkin": CheckInContent,
    "assessment": AssessmentContent,
    "infusion": InfusionContent,
}
_AT = re.compile(r" - at `\$([^`]*)`$")
_NAMED = re.compile(r"^Object (?:contains unknown|missing required) field `([^`]*)`")


def _convert(value: Any, kind: type[Any], field: str) -> Any:
    """msgspec's conversion (as lax as the rest of the API's bodies), errors named by path."""
    try:
        return msgspec.convert(value, kind, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _AT.search(message)
        if match:
            field += match.group(1)
            message = message[: match.start()]
        named = _NAMED.match(message)
        if named:
            field += "." + named.group(1)
            if message.startswith("Object contains unknown"):
                message = "This field is not allowed"
        raise InvalidField(field, message.rstrip(".") + ".") from None


def _rejected(entry_id: str | None, exc: AppError) -> ItemResult:
    problem = Problem(
        title=HTTPStatus(exc.status).phrase,
        status=exc.status,
        detail=exc.detail,
        field=exc.field,
    )
    return ItemResult(id=entry_id, status="rejected", problem=problem)


async def _delete(
    conn: Connection, access: Access, user: User, kind: Kind, entry_id: UUID, at: datetime
) -> Written:
    if kind == "checkin":
        return await checkin_store.delete_checkin(conn, access, entry_id, at)
    if kind == "assessment":
        return await assessment_store.delete_assessment(conn, access, entry_id, at)
    return await infusion_store.delete_infusion(conn, access, entry_id, at, updated_by=user.id)


async def _upsert(
    conn: Connection,
    access: Access,
    user: User,
    change: ChangeIn,
    content: Any,
    at: datetime,
    now: datetime,
) -> Written:
    if change.kind == "checkin":
        written, _ = await record_checkin(
            conn, access, user.zone, change.id, content, updated_at=at, now=now
        )
    elif change.kind == "assessment":
        written, _ = await record_assessment(
            conn, access, user.zone, change.id, content, updated_at=at, now=now
        )
    else:
        written, _ = await record_infusion(
            conn, access, user.zone, change.id, content, updated_at=at, updated_by=user.id, now=now
        )
    return written


async def apply_change(
    conn: Connection,
    access: Access,
    user: User,
    settings: Settings,
    index: int,
    raw: Any,
    now: datetime,
) -> ItemResult:
    at = f"changes[{index}]"
    raw_id = raw.get("id") if isinstance(raw, dict) else None
    entry_id = raw_id if isinstance(raw_id, str) else None
    try:
        change: ChangeIn = _convert(raw, ChangeIn, at)
        updated_at = check_moment(change.updated_at, now, f"{at}.updated_at")
        if change.op == "delete":
            written = await _delete(conn, access, user, change.kind, change.id, updated_at)
            return ItemResult(id=entry_id, status=written.outcome)
        if change.data is None:
            raise InvalidField(f"{at}.data", "An upsert needs the entry in `data`.")
        content = _convert(change.data, _CONTENT[change.kind], f"{at}.data")
        try:
            written = await _upsert(conn, access, user, change, content, updated_at, now)
        except InvalidField as exc:  # the domain names fields inside `data`
            raise InvalidField(f"{at}.data.{exc.field}", exc.detail) from None
    except NotFound:
        return _rejected(entry_id, AppError("No such entry.", status=404, field=f"{at}.id"))
    except AppError as exc:
        return _rejected(entry_id, exc)
    safety = None
    if isinstance(content, AssessmentContent) and needs_safety_response(
        content.instrument, content.answers
    ):
        safety = crisis_resources(clinic_phone_for(user.clinic_phone, settings.clinic_phone))
    return ItemResult(id=entry_id, status=written.outcome, safety=safety)


async def changes_since(
    conn: Connection, access: Access, after: int
) -> tuple[list[ServerChange], int, bool]:
    """Up to FEED_LIMIT changes after ``after`` in change order, the last seq sent, and more?"""
    if after > await sync_store.last_change_seq(conn, access.patient_id):
        after = 0  # a cursor from a restored database: start over rather than miss changes
    found = [
        *await checkin_store.checkin_changes(conn, access, after, FEED_LIMIT + 1),
        *await assessment_store.assessment_changes(conn, access, after, FEED_LIMIT + 1),
        *await infusion_store.infusion_changes(conn, access, after, FEED_LIMIT + 1),
    ]
    found.sort(key=lambda pair: pair[0])
    page = found[:FEED_LIMIT]
    last = page[-1][0] if page else after
    return [change for _, change in page], last, len(found) > FEED_LIMIT


async def _state(
    conn: Connection, access: Access, kind: str, entry_id: UUID
) -> ServerChange | None:
    if kind == "checkin":
        return await checkin_store.checkin_state(conn, access, entry_id)
    if kind == "assessment":
        return await assessment_store.assessment_state(conn, access, entry_id)
    return await infusion_store.infusion_state(conn, access, entry_id)


async def _winners(
    conn: Connection,
    access: Access,
    sent: list[Any],
    results: list[ItemResult],
    feed: list[ServerChange],
) -> list[ServerChange]:
    """What beat each superseded change, unless the feed already carries it. A device whose
    clock ran behind may have seen the winner before it edited; it must still learn to drop
    its own version."""
    known = {(change.kind, change.id) for change in feed}
    extra: list[ServerChange] = []
    for raw, result in zip(sent, results, strict=True):
        if result.status != "superseded" or result.id is None:
            continue
        key = (raw["kind"], UUID(result.id))
        if key in known:
            continue
        known.add(key)
        state = await _state(conn, access, raw["kind"], key[1])
        if state is not None:
            extra.append(state)
    return extra


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["log"]
    dependencies = {"user": Provide(security.provide_patient)}

    @post("", status_code=HTTP_200_OK, request_max_body_size=MAX_SYNC_BODY_BYTES)
    async def sync(
        self, data: JSONBody[SyncIn], user: CurrentUser, pool: DbPool, settings: AppSettings
    ) -> SyncOut:
        """Apply up to 500 changes (later ``updated_at`` wins), then send the server's changes."""
        access = own_access(user)
        after = decode_cursor(data.since, access.patient_id)
        for attempt in range(_ATTEMPTS):
            now = utc_now()
            try:
                async with transaction(pool) as conn:
                    results = [
                        await apply_change(conn, access, user, settings, index, raw, now)
                        for index, raw in enumerate(data.changes)
                    ]
                    changes, last, more = await changes_since(conn, access, after)
                    changes += await _winners(conn, access, data.changes, results, changes)
                break
            except asyncpg.TransactionRollbackError:  # a deadlock with a concurrent batch
                if attempt == _ATTEMPTS - 1:
                    raise
        return SyncOut(
            results=results,
            changes=changes,
            cursor=encode_cursor(last, access.patient_id),
            more=more,
        )
