"""The patient's log, every kind alike (server/domain/logbook.py): write one entry, read one or
a page, delete one, and the offline sync of a device's outbox. The JSON endpoints, the pages,
the clinic's infusion changes and the demo all write through ``record``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from server.db import Connection, Pool, connection, transaction
from server.domain.accounts import Access
from server.domain.checkins import AwareDateTime, check_moment
from server.domain.logbook import (
    DEFAULT_DAYS,
    KINDS,
    SUPERSEDED,
    Entry,
    LogKind,
    day_range,
    kind_named,
)
from server.domain.safety import Safety, crisis_resources
from server.domain.sync import ServerChange, content_version, decode_cursor, encode_cursor
from server.errors import AppError, Conflict, InvalidField, NotFound, Problem, convert, problem_of
from server.services import alerts, monitoring
from server.store import entries
from server.store import reminders as reminder_store
from server.store.entries import Written
from server.timeutil import utc_now

FEED_LIMIT = 500
_ATTEMPTS = 3


async def record(
    conn: Connection,
    access: Access,
    kind: LogKind,
    entry: Entry,
    content: Any,
    *,
    updated_by: UUID | None,
    now: datetime,
) -> Written:
    """Check and save one entry, and what follows from it in the same connection: reminders
    re-planned (infusions), every sharing clinician alerted of the warning signs the monitoring
    rules find in it (item 9 above 0, relapse, mood drop, a severe side effect persisting)."""
    content = kind.prepare(content, now)
    written = await entries.save(
        conn,
        kind,
        access,
        kind.build(content, entry),
        content_version(content),
        updated_by=updated_by if kind.author else None,
    )
    if written.outcome == "applied":
        if kind.replans_reminders:
            await reminder_store.replan_patient(conn, access.patient_id)
        found = await monitoring.findings_after_write(
            conn, access, kind, written.record, now, entry.zone
        )
        if found:
            await alerts.raise_alerts(conn, access.patient_id, monitoring.warning_signs(found))
    return written


def change_time(updated_at: datetime | None, now: datetime, field: str = "updated_at") -> datetime:
    """The change's time for the conflict rule: the client's clock if it sent one, else ours."""
    return now if updated_at is None else check_moment(updated_at, now, field)


def _unit(kind: LogKind, pool: Pool, content: Any) -> AbstractAsyncContextManager[Connection]:
    # What follows from a write (re-planned reminders, alerts with their pushes and emails) is
    # written in its transaction; a check-in no monitoring rule watches (a mood above 5, no
    # severe side effect) is one statement, so the write path stays one round trip.
    if kind.replans_reminders or kind.watched(content) or kind.needs_safety(content):
        return transaction(pool)
    return connection(pool)


async def settle(
    conn: Connection, kind: LogKind, access: Access, entry_id: UUID, written: Written
) -> Any:
    """What a PUT answers with: the stored entry (also for a replay), or 409 when a newer
    change is already stored."""
    if written.outcome == "superseded":
        raise Conflict(SUPERSEDED, field="updated_at")
    stored = written.record or await entries.by_id(conn, kind, access, entry_id)
    if stored is None:  # a replay of an entry deleted or retracted since
        raise NotFound(kind.missing)
    return stored


async def put_entry(
    pool: Pool,
    access: Access,
    kind: LogKind,
    entry_id: UUID,
    content: Any,
    *,
    zone: Any,
    client_updated_at: datetime | None,
) -> tuple[Any, bool]:
    """Create or replace the entry with this client-made id: (the entry, whether it is new)."""
    now = utc_now()
    entry = Entry(
        id=entry_id,
        patient_id=access.patient_id,
        zone=zone,
        updated_at=change_time(client_updated_at, now),
    )
    async with _unit(kind, pool, content) as conn:
        written = await record(
            conn, access, kind, entry, content, updated_by=access.viewer.id, now=now
        )
        stored = await settle(conn, kind, access, entry_id, written)
    return stored, written.inserted


async def get_entry(pool: Pool, access: Access, kind: LogKind, entry_id: UUID) -> Any:
    async with transaction(pool) as conn:
        found = await entries.by_id(conn, kind, access, entry_id)
    if found is None:
        raise NotFound(kind.missing)
    return found


async def delete_entry(pool: Pool, access: Access, kind: LogKind, entry_id: UUID) -> None:
    """Erase the content and keep a tombstone, so the patient's other devices drop it too; a
    final kind's entry is retracted instead (kept for the clinicians, with its flags)."""
    async with transaction(pool) as conn:
        deleted = await entries.is_deleted(conn, kind, access, entry_id)
        if deleted is None:
            raise NotFound(kind.missing)
        if not deleted:
            written = await _delete(conn, access, kind, entry_id, utc_now())
            if written.outcome == "superseded":
                raise Conflict(SUPERSEDED)


async def _delete(
    conn: Connection, access: Access, kind: LogKind, entry_id: UUID, at: datetime
) -> Written:
    written = await entries.delete(conn, kind, access, entry_id, at, updated_by=access.viewer.id)
    if written.outcome == "applied" and kind.replans_reminders:
        await reminder_store.replan_patient(conn, access.patient_id)
    return written


async def list_entries(
    pool: Pool,
    access: Access,
    kind: LogKind,
    *,
    first: date | None,
    last: date | None,
    today: date,
    limit: int,
    before: tuple[datetime, UUID] | None,
    match: dict[str, Any] | None = None,
) -> list[Any]:
    """Up to ``limit`` entries on local days ``first``..``last``, latest first. Without a
    range, check-ins and questionnaires of the last 30 days; infusions, all of them."""
    first, last = day_range(
        first, last, today, default_days=DEFAULT_DAYS if kind.recent_by_default else None
    )
    async with transaction(pool) as conn:
        return await entries.page(
            conn, kind, access, first, last, limit=limit, before=before, match=match
        )


def moment_of(kind: LogKind) -> Callable[[Any], tuple[datetime, UUID]]:
    """The bookmark of an entry in a page (see server/api/pages.py)."""
    return lambda item: (getattr(item, kind.moment), item.id)


# --- sync --------------------------------------------------------------------------------------


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
    raw_id = raw.get("id") if isinstance(raw, dict) else None
    entry_id = raw_id if isinstance(raw_id, str) else None
    content = None
    try:
        change = convert(raw, ChangeIn, at)
        kind = kind_named(change.kind, f"{at}.kind")
        updated_at = check_moment(change.updated_at, now, f"{at}.updated_at")
        if change.op == "delete":
            written = await _delete(conn, access, kind, change.id, updated_at)
            return ChangeResult(id=entry_id, status=written.outcome)
        if change.data is None:
            raise InvalidField(f"{at}.data", "An upsert needs the entry in `data`.")
        content = convert(change.data, kind.content, f"{at}.data")
        entry = Entry(id=change.id, patient_id=access.patient_id, zone=zone, updated_at=updated_at)
        try:
            written = await record(
                conn, access, kind, entry, content, updated_by=access.viewer.id, now=now
            )
        except InvalidField as exc:  # the domain names fields inside `data`
            raise InvalidField(f"{at}.data.{exc.field}", exc.detail) from None
    except NotFound:
        error = AppError("No such entry.", status=404, field=f"{at}.id")
        return ChangeResult(id=entry_id, status="rejected", problem=problem_of(error))
    except AppError as exc:
        return ChangeResult(id=entry_id, status="rejected", problem=problem_of(exc))
    safety = crisis_resources(clinic_phone) if kind.needs_safety(content) else None
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
