"""The patient's log, every kind alike (server/domain/logbook.py): write one entry, read one or
a page, delete one, and the offline sync of a device's outbox. The JSON endpoints, the pages,
the clinic's infusion changes and the demo all write through ``record``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from server.db import Connection, Pool, SessionKey, connection, transaction
from server.domain.accounts import Access, User
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
from server.domain.safety import Safety
from server.domain.sync import ServerChange, content_version, decode_cursor, encode_cursor
from server.errors import (
    AppError,
    Conflict,
    InvalidField,
    NotFound,
    Problem,
    convert,
    problem_in,
    problem_of,
)
from server.services import alerts, crisis, monitoring, sessions
from server.services.access import own_access
from server.store import entries
from server.store import reminders as reminder_store
from server.store.entries import Written
from server.timeutil import local_day, utc_now

FEED_LIMIT = 500
_ATTEMPTS = 3
_NOBODY = UUID(int=0)
_UTC = ZoneInfo("UTC")


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
    if _follows(kind, content):
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


async def put_own_entry(
    pool: Pool,
    key: SessionKey,
    kind: LogKind,
    entry_id: UUID,
    content: Any,
    *,
    client_updated_at: datetime | None,
) -> tuple[Any, bool, User]:
    """A patient's PUT of their own entry: (the entry, whether it is new, the patient). When
    nothing follows from the write (``_unit``: no reminders, no monitoring rule), the session
    is opened and the entry written in one round trip; otherwise the session is opened first
    and the write goes on as ``put_entry``."""
    if _follows(kind, content):
        user = (await sessions.open_key(pool, key)).user
        stored, created = await put_entry(
            pool,
            own_access(user),
            kind,
            entry_id,
            content,
            zone=user.zone,
            client_updated_at=client_updated_at,
        )
        return stored, created, user
    now = utc_now()
    updated_at = change_time(client_updated_at, now)
    prepared = kind.prepare(content, now)
    # Patient and zone are the session's, decided in the statement; these stand in for them.
    entry = Entry(id=entry_id, patient_id=_NOBODY, zone=_UTC, updated_at=updated_at)
    async with connection(pool) as conn:
        session, row = await entries.save_in_session(
            conn, kind, key, kind.build(prepared, entry), content_version(prepared)
        )
        user = sessions.opened(key, session).user
        access = own_access(user)
        written = None if row is None else entries.written_of(kind, row)
        if written is None:  # a concurrent first write of this id: again, as usual
            entry = Entry(id=entry_id, patient_id=user.id, zone=user.zone, updated_at=updated_at)
            written = await entries.save(
                conn, kind, access, kind.build(prepared, entry), content_version(prepared)
            )
        stored = await settle(conn, kind, access, entry_id, written)
    return stored, written.inserted, user


def _follows(kind: LogKind, content: Any) -> bool:
    return kind.replans_reminders or kind.watched(content) or kind.needs_safety(content)


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


async def list_own_entries(
    pool: Pool,
    key: SessionKey,
    kind: LogKind,
    *,
    first: date | None,
    last: date | None,
    limit: int,
    before: tuple[datetime, UUID] | None,
    match: dict[str, Any] | None = None,
) -> tuple[list[Any], User]:
    """A patient's own entries, as ``list_entries``: (the entries, the patient). With both ends
    of the range given (what the app asks for a day), the session is opened and the entries
    read in one round trip; without, the default range ends on the patient's today, so the
    session is opened first."""
    if first is None or last is None:
        user = (await sessions.open_key(pool, key)).user
        found = await list_entries(
            pool,
            own_access(user),
            kind,
            first=first,
            last=last,
            today=local_day(utc_now(), user.zone),
            limit=limit,
            before=before,
            match=match,
        )
        return found, user
    day_range(first, last, last, default_days=None)  # the range's own checks
    async with connection(pool) as conn:
        session, found = await entries.page_in_session(
            conn, kind, key, first, last, limit=limit, before=before, match=match
        )
    user = sessions.opened(key, session).user
    own_access(user)
    return found, user


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
