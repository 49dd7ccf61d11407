"""The one write path of logged entries of every kind (server/domain/logbook.py): save, delete
(or retract) and the session-opening write. Every statement filters on the patient the caller was
given; the reads and the change feed are in store/entries.py.

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

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

from server import db
from server.db import Connection
from server.domain.accounts import Access
from server.domain.logbook import LogKind
from server.domain.sync import ChangeKey, Outcome, delete_key
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
