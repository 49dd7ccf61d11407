"""Logged entries of every kind (server/domain/logbook.py): the one write path, the reads, and
the change feed devices sync from. Every query filters on the patient the caller was given.

``save`` and ``delete`` are a single statement, so a PUT costs one round trip:
  1. ``prior``: the stored key, if any (and whether the row is this patient's);
  2. ``counter``: only if the change would win, bump the patient's ``sync_counters`` row. Its row
     lock is held to commit, so a patient's changes commit in ``change_seq`` order and a cursor
     never skips one. A losing or replayed change touches nothing: replays leave the database
     byte for byte as it was;
  3. ``written``: INSERT ... ON CONFLICT DO UPDATE, guarded again by the key comparison and the
     owner. ``prior`` reads the statement's snapshot, which may be stale under concurrency, but a
     stored key only grows, so a stale "loses" is still right; a stale "wins" is re-checked by
     the ON CONFLICT guard against the newest row version, under its lock.
When ``prior`` saw nothing and nothing was written (a concurrent insert of the same id), the
statement is run again with a fresh snapshot to say why.

A final kind (domain/logbook.py) is written once: the counter moves and the row is inserted only
when ``prior`` found nothing; then the same version is ``unchanged`` and any other is refused.
Its delete is a retraction (``_retract_statement``): the row keeps its content, is marked
deleted (gone from the patient's log and devices) and retracted, and gets a new change_seq so
the patient's other devices learn of it.

Keys compare as rows: (client_updated_at, deleted, version COLLATE "C"), exactly like
``domain.sync.ChangeKey``. Rows are found by their global id but only ever changed or returned
when they belong to the patient: another patient's id is answered ``NotFound``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple
from uuid import UUID

from server.db import Connection
from server.domain.accounts import Access
from server.domain.logbook import LogKind
from server.domain.sync import ChangeKey, Outcome, ServerChange, delete_key
from server.errors import AppError, Conflict, NotFound

_ATTEMPTS = 3


class Written(NamedTuple):
    outcome: Outcome
    record: Any  # the stored record, when an upsert was applied
    inserted: bool


# Through a function that may look past row-level security: another patient's id must be
# recognised (and answered 404) without its row ever reaching the statement.
_PRIOR = "SELECT * FROM entry_key_{table}($1::uuid, $2::uuid)"
_INCOMING = '($3::timestamptz, $4::boolean, $5::text COLLATE "C")'
_STORED = '(p.client_updated_at, p.deleted, p.version COLLATE "C")'


@cache
def _write_statement(kind: LogKind) -> str:
    content = [name for name, _ in kind.columns]
    params = [f"${i}::{cast}" for i, (_, cast) in enumerate(kind.columns, start=6)]
    if kind.final:
        wins = "NOT EXISTS (SELECT FROM prior)"
        on_conflict = "DO NOTHING"
        settled = """WHEN p.version COLLATE "C" = $5::text THEN 'unchanged'
            ELSE 'refused'"""
    else:
        wins = f"NOT EXISTS (SELECT FROM prior p WHERE NOT p.own OR {_STORED} >= {_INCOMING})"
        updates = ", ".join(
            f"{name} = EXCLUDED.{name}"
            for name in (
                "client_updated_at",
                "deleted",
                "version",
                "change_seq",
                "updated_at",
                *content,
            )
        )
        on_conflict = f"""DO UPDATE SET {updates}
     WHERE t.patient_id = EXCLUDED.patient_id
       AND (t.client_updated_at, t.deleted, t.version COLLATE "C")
           < (EXCLUDED.client_updated_at, EXCLUDED.deleted, EXCLUDED.version)"""
        settled = f"""WHEN {_STORED} = {_INCOMING} THEN 'unchanged'
            WHEN {_STORED} > {_INCOMING} THEN 'superseded'
            ELSE 'raced'"""
    return f"""
WITH prior AS (
    {_PRIOR.format(table=kind.table)}
), counter AS (
    INSERT INTO sync_counters AS c (patient_id, seq)
    SELECT $2::uuid, 1 WHERE {wins}
    ON CONFLICT (patient_id) DO UPDATE SET seq = c.seq + 1
    RETURNING seq
), written AS (
    INSERT INTO {kind.table} AS t
           (id, patient_id, client_updated_at, deleted, version, change_seq, updated_at,
            {", ".join(content)})
    SELECT $1::uuid, $2::uuid, $3::timestamptz, $4::boolean, $5::text, counter.seq, now(),
           {", ".join(params)}
      FROM counter
    ON CONFLICT (id) {on_conflict}
    RETURNING {kind.select_list}, t.xmax::text = '0' AS inserted
)
SELECT CASE WHEN w.id IS NOT NULL THEN 'applied'
            WHEN p.own IS NULL THEN 'raced'
            WHEN NOT p.own THEN 'foreign'
            {settled} END AS outcome,
       w.*
  FROM (VALUES (1)) AS one (x)
  LEFT JOIN written w ON true
  LEFT JOIN prior p ON true"""


@cache
def _retract_statement(kind: LogKind) -> str:
    """Retract a live entry of a final kind ($1 id, $2 patient, $3 the change's time)."""
    return f"""
WITH prior AS (
    {_PRIOR.format(table=kind.table)}
), counter AS (
    INSERT INTO sync_counters AS c (patient_id, seq)
    SELECT $2::uuid, 1 WHERE EXISTS (SELECT FROM prior p WHERE p.own AND NOT p.deleted)
    ON CONFLICT (patient_id) DO UPDATE SET seq = c.seq + 1
    RETURNING seq
), written AS (
    UPDATE {kind.table} AS t
       SET deleted = true, retracted_at = now(), change_seq = counter.seq, updated_at = now(),
           client_updated_at = greatest(t.client_updated_at, $3::timestamptz)
      FROM counter
     WHERE t.id = $1::uuid AND t.patient_id = $2::uuid AND NOT t.deleted
    RETURNING t.id
)
SELECT CASE WHEN w.id IS NOT NULL THEN 'applied'
            WHEN p.own IS NULL THEN 'missing'
            WHEN NOT p.own THEN 'foreign'
            ELSE 'unchanged' END AS outcome
  FROM (VALUES (1)) AS one (x)
  LEFT JOIN written w ON true
  LEFT JOIN prior p ON true"""


async def _write(
    conn: Connection,
    kind: LogKind,
    access: Access,
    entry_id: UUID,
    key: ChangeKey,
    values: Sequence[Any],
) -> Written:
    """Apply one change (an upsert, or a delete with no content) under the conflict rule."""
    statement = _write_statement(kind)
    for _ in range(_ATTEMPTS):
        row = await conn.fetchrow(
            statement,
            entry_id,
            access.patient_id,
            key.updated_at,
            key.deleted,
            key.version,
            *values,
        )
        assert row is not None
        outcome = row["outcome"]
        if outcome == "foreign":
            raise NotFound()
        if outcome == "refused":
            raise Conflict(kind.refused)
        if outcome == "applied":
            record = None if row["deleted"] else kind.from_row(row)
            return Written("applied", record, bool(row["inserted"]))
        if outcome in ("unchanged", "superseded"):
            return Written(outcome, None, False)
    raise AppError("This entry is being changed elsewhere right now; try again.", status=409)


async def save(
    conn: Connection,
    kind: LogKind,
    access: Access,
    record: Any,
    version: str,
    *,
    updated_by: UUID | None = None,
) -> Written:
    """Upsert under the conflict rule; ``Written.record`` is the stored one when it won."""
    key = ChangeKey(updated_at=record.updated_at, deleted=False, version=version)
    return await _write(conn, kind, access, record.id, key, kind.values(record, updated_by))


async def delete(
    conn: Connection,
    kind: LogKind,
    access: Access,
    entry_id: UUID,
    updated_at: datetime,
    *,
    updated_by: UUID | None = None,
) -> Written:
    """Leave a tombstone (content erased) so every device learns of the delete; for a final
    kind, retract the entry instead (an id never stored is ``NotFound``)."""
    if kind.final:
        return await _retract(conn, kind, access, entry_id, updated_at)
    return await _write(
        conn, kind, access, entry_id, delete_key(updated_at), kind.tombstone(updated_by)
    )


async def _retract(
    conn: Connection, kind: LogKind, access: Access, entry_id: UUID, updated_at: datetime
) -> Written:
    outcome = await conn.fetchval(_retract_statement(kind), entry_id, access.patient_id, updated_at)
    if outcome in ("foreign", "missing"):
        raise NotFound(kind.missing)
    return Written(outcome, None, False)


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
    before_at, before_id = before if before else (None, None)
    narrowed = [(name, value) for name, value in (match or {}).items() if name in kind.filters]
    where = "".join(f" AND {name} = ${i}" for i, (name, _) in enumerate(narrowed, start=7))
    rows = await conn.fetch(
        f"""SELECT {kind.select_list} FROM {kind.table}
             WHERE patient_id = $1 AND NOT deleted
               AND ($2::date IS NULL OR local_day >= $2::date)
               AND ($3::date IS NULL OR local_day <= $3::date)
               AND ($4::timestamptz IS NULL
                    OR ({kind.moment}, id) < ($4::timestamptz, $5::uuid)){where}
             ORDER BY {kind.moment} DESC, id DESC
             LIMIT $6""",
        access.patient_id,
        first,
        last,
        before_at,
        before_id,
        limit,
        *(value for _, value in narrowed),
    )
    return [kind.from_row(row) for row in rows]


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
