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

import asyncpg
import msgspec

from server import db
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
                *(name for name, _ in kind.columns),
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
            {", ".join(name for name, _ in kind.columns)})
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


# --- the write that opens the session (one round trip) -------------------------------------
# A function of the connection's own (pg_temp, made on its first use) runs ``_write_statement``
# for the patient the request's session grants. The statement that calls it opens the session
# first (afterglow_open_request: the lookup and the grant), and the function takes that
# session's account as an argument, so it runs after; being VOLATILE PL/pgSQL, each statement
# in it takes a fresh snapshot and sees the grant, row-level security included, and its plan is
# kept for the connection. One statement, one round trip, one execution of the write's plan.
#
# The function only ever receives the account, never the session's token. A hostile statement
# that replaced it on a pooled connection would run with the grant of a later request there, as
# a temporary table or view it left to shadow a table already could (the pool's reset keeps
# temporary objects; README, "Security, briefly").


def _write_function_name(kind: LogKind) -> str:
    return f"pg_temp.afterglow_write_{kind.table}"


@cache
def _write_function(kind: LogKind) -> str:
    """The definition of the connection's write function of ``kind``: the statement's own
    parameters ($1 entry, $2 patient, ...), then the granted account and its zone; the patient,
    the local day and the author are the account's whatever was sent for them."""
    names = [f"p{n}" for n in range(1, 6 + len(kind.columns))]
    types = ["uuid", "uuid", "timestamptz", "boolean", "text", *(c for _, c in kind.columns)]
    position = {name: n for n, (name, _) in enumerate(kind.columns, start=6)}
    granted = ["p2 := account;"]
    granted.append(
        f"p{position['local_day']} := (p{position[kind.moment]} AT TIME ZONE zone)::date;"
    )
    if "updated_by" in position:
        granted.append(f"p{position['updated_by']} := account;")
    arguments = ", ".join(f"{name} {cast}" for name, cast in zip(names, types, strict=True))
    steps = "\n    ".join(granted)
    return f"""CREATE OR REPLACE FUNCTION {_write_function_name(kind)}(
    {arguments}, account uuid, zone text) RETURNS SETOF jsonb
LANGUAGE plpgsql VOLATILE AS $afterglow$
#variable_conflict use_column
DECLARE
    found record;
BEGIN
    IF account IS NULL OR account IS DISTINCT FROM afterglow_patient() THEN
        RETURN;
    END IF;
    {steps}
    FOR found IN {_write_statement(kind)}
    LOOP
        RETURN NEXT to_jsonb(found);
    END LOOP;
END
$afterglow$"""


@cache
def _session_write_call(kind: LogKind) -> str:
    count = 5 + len(kind.columns)
    arguments = ", ".join(f"${n}" for n in range(2, count + 2))
    return f"""SELECT to_jsonb(o) AS session, w.written
  FROM afterglow_open_request($1::bytea) o
  LEFT JOIN LATERAL {_write_function_name(kind)}({arguments},
       CASE WHEN o.role = 'patient' AND NOT o.second_factor_pending THEN o.id END,
       o.timezone) AS w (written) ON true"""


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
        written = written_of(kind, row)
        if written is not None:
            return written
    raise AppError("This entry is being changed elsewhere right now; try again.", status=409)


def written_of(kind: LogKind, row: Any) -> Written | None:
    """What a write's row says was done; None when a concurrent first write of the same id
    raced it (run it again)."""
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
    return None


async def save_in_session(
    conn: Connection, kind: LogKind, key: db.SessionKey, record: Any, version: str
) -> tuple[Any, Any]:
    """Open the request's session and upsert ``record`` for the patient it grants, in one
    round trip: (the session as opened, or None; the write's row for ``written_of``, or None
    when nothing was written because the session is no patient's). ``record``'s patient, local
    day and author are not used: the session decides them."""
    arguments = [
        key.token_hash,
        record.id,
        record.patient_id,
        record.updated_at,
        False,
        version,
        *kind.values(record, None),
    ]
    call = _session_write_call(kind)
    try:
        rows = await conn.fetch(call, *arguments)
    # This connection's first write of the kind (before any, it has no pg_temp schema either).
    except (asyncpg.UndefinedFunctionError, asyncpg.InvalidSchemaNameError):
        await conn.execute(_write_function(kind))
        rows = await conn.fetch(call, *arguments)
    if not rows:
        return None, None
    return rows[0]["session"], rows[0]["written"]


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
