"""The patient's log, every kind alike (server/domain/logbook.py): write one entry, read one or
a page, delete one (the offline sync of a device's outbox is services/sync.py). The JSON
endpoints, the pages, the sync, the clinic's infusion changes and the demo all write through
``record``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from server.db import Connection, Pool, SessionKey, connection, transaction
from server.domain.accounts import Access, User
from server.domain.checkins import check_moment
from server.domain.logbook import DEFAULT_DAYS, SUPERSEDED, Entry, LogKind, day_range
from server.domain.sync import content_version
from server.errors import Conflict, NotFound
from server.services import alerts, monitoring, sessions
from server.services.access import own_access
from server.store import entries, entry_writes
from server.store import reminders as reminder_store
from server.store.entry_writes import Written
from server.timeutil import local_day, utc_now

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
    written = await entry_writes.save(
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
        session, row = await entry_writes.save_in_session(
            conn, kind, key, kind.build(prepared, entry), content_version(prepared)
        )
        user = sessions.opened(key, session).user
        access = own_access(user)
        written = None if row is None else entry_writes.written_of(kind, row)
        if written is None:  # a concurrent first write of this id: again, as usual
            entry = Entry(id=entry_id, patient_id=user.id, zone=user.zone, updated_at=updated_at)
            written = await entry_writes.save(
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
            written = await delete_on(conn, access, kind, entry_id, utc_now())
            if written.outcome == "superseded":
                raise Conflict(SUPERSEDED)


async def delete_on(
    conn: Connection, access: Access, kind: LogKind, entry_id: UUID, at: datetime
) -> Written:
    """Delete (or retract) under the conflict rule in ``conn``, re-planning reminders when an
    infusion went; a DELETE and a sync's delete alike."""
    written = await entry_writes.delete(
        conn, kind, access, entry_id, at, updated_by=access.viewer.id
    )
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
