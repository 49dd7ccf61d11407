"""The offline sync of a device's outbox (POST /api/v1/sync): each change applied on its own
through the log's write path (services/logbook.py), then everything changed since the device's
cursor, every kind alike.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from server.db import Connection, Pool, SessionKey, connection, transaction
from server.domain.accounts import Access, User
from server.domain.checkins import AwareDateTime, check_moment
from server.domain.logbook import KINDS, Entry, kind_named
from server.domain.safety import Safety
from server.domain.sync import ServerChange, decode_cursor, encode_cursor
from server.errors import AppError, InvalidField, NotFound, Problem, convert, problem_in, problem_of
from server.services import crisis, logbook, sessions
from server.services.access import own_access
from server.store import entries
from server.timeutil import utc_now

FEED_LIMIT = 500
_ATTEMPTS = 3
_NOBODY = UUID(int=0)


class ChangeIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: str  # a name in KINDS
    id: UUID
    op: Literal["upsert", "delete"]
    updated_at: AwareDateTime
    data: Any = None  # the entry's content for an upsert; ignored for a delete


class ChangeResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str | None  # as sent, so a client can match a change it could not even parse
    status: Literal["applied", "unchanged", "superseded", "rejected"]
    problem: Problem | None = None  # why it was rejected
    safety: Safety | None = None  # a PHQ-9 with item 9 above 0: show crisis resources now


class Synced(msgspec.Struct, kw_only=True):
    results: list[ChangeResult]  # one per change, in the order sent
    # Everything changed since the cursor (tombstones included), then the current state of any
    # entry whose change here was superseded: a device applies them all, in order.
    changes: list[ServerChange]
    cursor: str
    more: bool  # true: sync again with the new cursor for the rest


async def sync(
    pool: Pool,
    access: Access,
    zone: ZoneInfo,
    sent: list[Any],
    since: str | None,
    *,
    clinic_phone: str | None,
) -> Synced:
    """Apply a device's outbox (each change on its own: a bad one is rejected, the rest still
    apply; later ``updated_at`` wins), then send the server's changes since ``since``. The batch
    is one transaction, so a crash leaves all of it to be retried; a replay changes nothing."""
    after = decode_cursor(since, access.patient_id)
    for attempt in range(_ATTEMPTS):
        now = utc_now()
        try:
            async with transaction(pool) as conn:
                results = [
                    await _apply(conn, access, zone, index, raw, now, clinic_phone)
                    for index, raw in enumerate(sent)
                ]
                changes, last, more = await _changes_since(conn, access, after)
                changes += await _winners(conn, access, sent, results, changes)
            break
        except asyncpg.TransactionRollbackError:  # a deadlock with a concurrent batch
            if attempt == _ATTEMPTS - 1:
                raise
    return Synced(
        results=results, changes=changes, cursor=encode_cursor(last, access.patient_id), more=more
    )


async def sync_own(
    pool: Pool,
    key: SessionKey,
    sent: list[Any],
    since: str | None,
    *,
    clinic_phone: Callable[[User], str | None],
) -> tuple[Synced, User]:
    """A patient's own ``sync``: (its answer, the patient). A device with nothing to send (every
    app start) costs one round trip: the session opened and the changes since its cursor read
    in one statement; a batch of changes opens the session first and goes on as ``sync``."""
    if sent:
        user = (await sessions.open_key(pool, key)).user
        synced = await sync(
            pool, own_access(user), user.zone, sent, since, clinic_phone=clinic_phone(user)
        )
        return synced, user
    claimed = _claimed_seq(since)
    async with connection(pool) as conn:
        session, after, found = await entries.changes_in_session(
            conn, list(KINDS.values()), key, claimed, FEED_LIMIT + 1
        )
    user = sessions.opened(key, session).user
    access = own_access(user)
    if decode_cursor(since, user.id) != claimed:  # another patient's cursor: from the start
        return await sync(pool, access, user.zone, [], None, clinic_phone=None), user
    found.sort(key=lambda pair: pair[0])
    page = found[:FEED_LIMIT]
    last = page[-1][0] if page else after
    synced = Synced(
        results=[],
        changes=[change for _, change in page],
        cursor=encode_cursor(last, user.id),
        more=len(found) > FEED_LIMIT,
    )
    return synced, user


def _claimed_seq(since: str | None) -> int:
    """The change_seq a cursor names, before knowing whose it is (checked once the session is
    open); a malformed one is refused here, as ``decode_cursor`` refuses it."""
    if since is None:
        return 0
    decode_cursor(since, _NOBODY)
    raw = base64.urlsafe_b64decode((since + "=" * (-len(since) % 4)).encode("ascii"))
    return int(raw.decode("ascii").split(".")[0])


async def _apply(
    conn: Connection,
    access: Access,
    zone: ZoneInfo,
    index: int,
    raw: Any,
    now: datetime,
    clinic_phone: str | None,
) -> ChangeResult:
    at = f"changes[{index}]"
    reader = access.viewer.language
    raw_id = raw.get("id") if isinstance(raw, dict) else None
    entry_id = raw_id if isinstance(raw_id, str) else None
    content = None
    try:
        change = convert(raw, ChangeIn, at)
        kind = kind_named(change.kind, f"{at}.kind")
        updated_at = check_moment(change.updated_at, now, f"{at}.updated_at")
        if change.op == "delete":
            written = await logbook.delete_on(conn, access, kind, change.id, updated_at)
            return ChangeResult(id=entry_id, status=written.outcome)
        if change.data is None:
            raise InvalidField(f"{at}.data", "An upsert needs the entry in `data`.")
        content = convert(change.data, kind.content, f"{at}.data")
        entry = Entry(id=change.id, patient_id=access.patient_id, zone=zone, updated_at=updated_at)
        try:
            written = await logbook.record(
                conn, access, kind, entry, content, updated_by=access.viewer.id, now=now
            )
        except InvalidField as exc:  # the domain names fields inside `data`
            raise InvalidField(f"{at}.data.{exc.field}", exc.detail) from None
    except NotFound:
        error = AppError("No such entry.", status=404, field=f"{at}.id")
        return ChangeResult(
            id=entry_id, status="rejected", problem=problem_in(problem_of(error), reader)
        )
    except AppError as exc:
        return ChangeResult(
            id=entry_id, status="rejected", problem=problem_in(problem_of(exc), reader)
        )
    safety = (
        await crisis.resources_for(conn, access.patient_id, clinic_phone, access.viewer.language)
        if kind.needs_safety(content)
        else None
    )
    return ChangeResult(id=entry_id, status=written.outcome, safety=safety)


async def _changes_since(
    conn: Connection, access: Access, after: int
) -> tuple[list[ServerChange], int, bool]:
    """Up to FEED_LIMIT changes after ``after`` in change order, the last seq sent, and more?"""
    if after > await entries.last_change_seq(conn, access):
        after = 0  # a cursor from a restored database: start over rather than miss changes
    found = [
        pair
        for kind in KINDS.values()
        for pair in await entries.changes(conn, kind, access, after, FEED_LIMIT + 1)
    ]
    found.sort(key=lambda pair: pair[0])
    page = found[:FEED_LIMIT]
    last = page[-1][0] if page else after
    return [change for _, change in page], last, len(found) > FEED_LIMIT


async def _winners(
    conn: Connection,
    access: Access,
    sent: list[Any],
    results: list[ChangeResult],
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
        state = await entries.state(conn, KINDS[raw["kind"]], access, key[1])
        if state is not None:
            extra.append(state)
    return extra
