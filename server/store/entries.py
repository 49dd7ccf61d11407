"""Logged entries of every kind (server/domain/logbook.py) as stored: one by id, a page, a range,
and the change feed devices sync from. Every query filters on the patient the caller was given.
Writes go through store/entry_writes.py, the one write path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any
from uuid import UUID

import msgspec

from server import db
from server.db import Connection
from server.domain.accounts import Access
from server.domain.logbook import LogKind
from server.domain.sync import ServerChange


async def by_id(conn: Connection, kind: LogKind, access: Access, entry_id: UUID) -> Any | None:
    row = await conn.fetchrow(
        f"""SELECT {kind.select_list} FROM {kind.table}
             WHERE id = $1 AND patient_id = $2 AND NOT deleted""",
        entry_id,
        access.patient_id,
    )
    return None if row is None else kind.from_row(row)


async def is_deleted(
    conn: Connection, kind: LogKind, access: Access, entry_id: UUID
) -> bool | None:
    """True for a tombstone, False for a live entry, None when the patient has no such id."""
    deleted: bool | None = await conn.fetchval(
        f"SELECT deleted FROM {kind.table} WHERE id = $1 AND patient_id = $2",
        entry_id,
        access.patient_id,
    )
    return deleted


@cache
def _page_statement(kind: LogKind, narrowed: tuple[str, ...], in_session: bool) -> str:
    # $1 the patient; in a session, $1 the session and the patient the one it grants, and both
    # ends of the range given (an open end would make a custom plan look cheaper than the
    # generic one, and the statement be planned afresh at each execution: see db.OPENING).
    patient = "(SELECT afterglow_patient())" if in_session else "$1"
    where = "".join(f" AND {name} = ${i}" for i, name in enumerate(narrowed, start=7))
    days = (
        "local_day BETWEEN $2::date AND $3::date"
        if in_session
        else """($2::date IS NULL OR local_day >= $2::date)
               AND ($3::date IS NULL OR local_day <= $3::date)"""
    )
    statement = f"""SELECT {kind.select_list} FROM {kind.table}
             WHERE patient_id = {patient} AND NOT deleted
               AND {days}
               AND ($4::timestamptz IS NULL
                    OR ({kind.moment}, id) < ($4::timestamptz, $5::uuid)){where}
             ORDER BY {kind.moment} DESC, id DESC
             LIMIT $6"""
    return db.in_session(statement) if in_session else statement


def _page_args(
    first: date | None,
    last: date | None,
    limit: int,
    before: tuple[datetime, UUID] | None,
    narrowed: list[tuple[str, Any]],
) -> list[Any]:
    before_at, before_id = before if before else (None, None)
    return [first, last, before_at, before_id, limit, *(value for _, value in narrowed)]


def _narrowed(kind: LogKind, match: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    return [(name, value) for name, value in (match or {}).items() if name in kind.filters]


async def page(
    conn: Connection,
    kind: LogKind,
    access: Access,
    first: date | None,
    last: date | None,
    *,
    limit: int,
    before: tuple[datetime, UUID] | None = None,
    match: Mapping[str, Any] | None = None,
) -> list[Any]:
    """Entries on local days first..last (either end open), latest first, after the ``before``
    bookmark, narrowed by ``match`` (column = value; columns from ``kind.filters``)."""
    narrowed = _narrowed(kind, match)
    statement = _page_statement(kind, tuple(name for name, _ in narrowed), False)
    rows = await conn.fetch(
        statement, access.patient_id, *_page_args(first, last, limit, before, narrowed)
    )
    return [kind.from_row(row) for row in rows]


async def page_in_session(
    conn: Connection,
    kind: LogKind,
    key: db.SessionKey,
    first: date | None,
    last: date | None,
    *,
    limit: int,
    before: tuple[datetime, UUID] | None = None,
    match: Mapping[str, Any] | None = None,
) -> tuple[Any, list[Any]]:
    """``page`` of the patient the request's session grants, the session opened by the same
    round trip: (the session as opened, or None; the entries: none for any other session)."""
    narrowed = _narrowed(kind, match)
    statement = _page_statement(kind, tuple(name for name, _ in narrowed), True)
    session, rows = await db.fetch_in_session(
        conn, key, statement, _page_args(first, last, limit, before, narrowed)
    )
    return session, [kind.from_row(row) for row in rows]


async def in_range(
    conn: Connection,
    kind: LogKind,
    access: Access,
    first: date | None,
    last: date | None,
    *,
    retracted: bool = False,
) -> list[Any]:
    """Live entries on local days first..last (either end open, both None: all), oldest first;
    with ``retracted``, retracted ones too (a clinician's view, the patient's data export)."""
    rows = await conn.fetch(
        f"""SELECT {kind.select_list} FROM {kind.table}
             WHERE patient_id = $1 AND {kind.shown(retracted=retracted)}
               AND ($2::date IS NULL OR local_day >= $2) AND ($3::date IS NULL OR local_day <= $3)
             ORDER BY local_day, {kind.moment}, id""",
        access.patient_id,
        first,
        last,
    )
    return [kind.from_row(row) for row in rows]


def _as_change(kind: LogKind, row: Any) -> ServerChange:
    return ServerChange(
        kind=kind.name,
        id=row["id"],
        op="delete" if row["deleted"] else "upsert",
        updated_at=row["client_updated_at"],
        data=None if row["deleted"] else kind.from_row(row),
    )


async def changes(
    conn: Connection, kind: LogKind, access: Access, after_seq: int, limit: int
) -> list[tuple[int, ServerChange]]:
    """Changes after ``after_seq``, tombstones included, oldest change first."""
    rows = await conn.fetch(
        f"""SELECT {kind.select_list}, change_seq FROM {kind.table}
             WHERE patient_id = $1 AND change_seq > $2
             ORDER BY change_seq LIMIT $3""",
        access.patient_id,
        after_seq,
        limit,
    )
    return [(row["change_seq"], _as_change(kind, row)) for row in rows]


@cache
def _feed_statement(kinds: tuple[LogKind, ...]) -> str:
    """Every kind's changes after $2 (up to $3 each) for the patient the session grants, each
    row as JSON, after one row saying from where: $2, or 0 when the patient's counter is
    behind it (a cursor from a restored database: start over rather than miss changes)."""
    per_kind = "".join(
        f"""
    UNION ALL
    SELECT c.change_seq, '{kind.name}', to_jsonb(c), NULL FROM (
        SELECT {kind.select_list}, change_seq FROM {kind.table}, after
         WHERE patient_id = (SELECT id FROM me) AND change_seq > after.seq
         ORDER BY change_seq LIMIT $3) c"""
        for kind in kinds
    )
    return db.in_session(
        f"""WITH me AS (SELECT afterglow_patient() AS id),
         after AS (
             SELECT CASE WHEN $2::bigint > coalesce(
                        (SELECT c.seq FROM sync_counters c WHERE c.patient_id = me.id), 0)
                    THEN 0 ELSE $2::bigint END AS seq
               FROM me)
    SELECT NULL::bigint AS change_seq, NULL::text AS kind, NULL::jsonb AS entry,
           after.seq AS after_seq
      FROM after{per_kind}"""
    )


async def changes_in_session(
    conn: Connection, kinds: Sequence[LogKind], key: db.SessionKey, after_seq: int, limit: int
) -> tuple[Any, int, list[tuple[int, ServerChange]]]:
    """``changes`` of every kind for the patient the request's session grants, the session
    opened by the same round trip: (the session as opened, or None; the seq the changes
    follow; the changes, unsorted)."""
    by_name = {kind.name: kind for kind in kinds}
    session, rows = await db.fetch_in_session(
        conn, key, _feed_statement(tuple(kinds)), [after_seq, limit]
    )
    after = after_seq
    found: list[tuple[int, ServerChange]] = []
    for row in rows:
        if row["kind"] is None:
            after = row["after_seq"]
            continue
        kind, entry = by_name[row["kind"]], row["entry"]
        change = ServerChange(
            kind=kind.name,
            id=UUID(entry["id"]),
            op="delete" if entry["deleted"] else "upsert",
            updated_at=msgspec.convert(entry["client_updated_at"], datetime),
            data=None if entry["deleted"] else kind.from_row(entry),
        )
        found.append((row["change_seq"], change))
    return session, after, found


async def state(
    conn: Connection, kind: LogKind, access: Access, entry_id: UUID
) -> ServerChange | None:
    """The entry as it stands (or its tombstone), for a device whose change lost."""
    row = await conn.fetchrow(
        f"SELECT {kind.select_list} FROM {kind.table} WHERE id = $1 AND patient_id = $2",
        entry_id,
        access.patient_id,
    )
    return None if row is None else _as_change(kind, row)


async def last_change_seq(conn: Connection, access: Access) -> int:
    seq: int | None = await conn.fetchval(
        "SELECT seq FROM sync_counters WHERE patient_id = $1", access.patient_id
    )
    return seq or 0
