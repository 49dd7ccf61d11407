"""The one write path of every logged entry, and the change feed devices sync from.

``write`` is a single statement, so a PUT costs one round trip:
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

Keys compare as rows: (client_updated_at, deleted, version COLLATE "C"), exactly like
``domain.sync.ChangeKey``. Rows are found by their global id but only ever changed or returned
when they belong to the patient: another patient's id is answered ``NotFound``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

from server.db import Connection
from server.domain.sync import ChangeKey, Outcome
from server.problems import AppError, NotFound

_ATTEMPTS = 3


class Table(NamedTuple):
    name: str
    # Columns a change writes, after the bookkeeping ones, each with its parameter type.
    writes: tuple[tuple[str, str], ...]
    # The select list that turns a row into a record (store modules convert it).
    reads: str


class Written(NamedTuple):
    outcome: Outcome
    row: asyncpg.Record | None  # the stored row, when the change was applied
    inserted: bool


def write_statement(table: Table) -> str:
    content = [name for name, _ in table.writes]
    params = [f"${i}::{cast}" for i, (_, cast) in enumerate(table.writes, start=6)]
    incoming = '($3::timestamptz, $4::boolean, $5::text COLLATE "C")'
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
    return f"""
WITH prior AS (
    -- Through a function that may look past row-level security: another patient's id must be
    -- recognised (and answered 404) without its row ever reaching this statement.
    SELECT * FROM entry_key_{table.name}($1::uuid, $2::uuid)
), counter AS (
    INSERT INTO sync_counters AS c (patient_id, seq)
    SELECT $2::uuid, 1
     WHERE NOT EXISTS (
           SELECT FROM prior p
            WHERE NOT p.own
               OR (p.client_updated_at, p.deleted, p.version COLLATE "C") >= {incoming})
    ON CONFLICT (patient_id) DO UPDATE SET seq = c.seq + 1
    RETURNING seq
), written AS (
    INSERT INTO {table.name} AS t
           (id, patient_id, client_updated_at, deleted, version, change_seq, updated_at,
            {", ".join(content)})
    SELECT $1::uuid, $2::uuid, $3::timestamptz, $4::boolean, $5::text, counter.seq, now(),
           {", ".join(params)}
      FROM counter
    ON CONFLICT (id) DO UPDATE SET {updates}
     WHERE t.patient_id = EXCLUDED.patient_id
       AND (t.client_updated_at, t.deleted, t.version COLLATE "C")
           < (EXCLUDED.client_updated_at, EXCLUDED.deleted, EXCLUDED.version)
    RETURNING {table.reads}, t.xmax::text = '0' AS inserted
)
SELECT CASE WHEN w.id IS NOT NULL THEN 'applied'
            WHEN p.own IS NULL THEN 'raced'
            WHEN NOT p.own THEN 'foreign'
            WHEN (p.client_updated_at, p.deleted, p.version COLLATE "C") = {incoming}
                 THEN 'unchanged'
            WHEN (p.client_updated_at, p.deleted, p.version COLLATE "C") > {incoming}
                 THEN 'superseded'
            ELSE 'raced' END AS outcome,
       w.*
  FROM (VALUES (1)) AS one (x)
  LEFT JOIN written w ON true
  LEFT JOIN prior p ON true"""


async def write(
    conn: Connection,
    statement: str,
    *,
    entry_id: UUID,
    patient_id: UUID,
    key: ChangeKey,
    values: Sequence[Any],
) -> Written:
    """Apply one change (an upsert, or a delete with every value None) under the conflict rule."""
    for _ in range(_ATTEMPTS):
        row = await conn.fetchrow(
            statement, entry_id, patient_id, key.updated_at, key.deleted, key.version, *values
        )
        assert row is not None
        outcome = row["outcome"]
        if outcome == "foreign":
            raise NotFound()
        if outcome == "applied":
            return Written("applied", row, bool(row["inserted"]))
        if outcome in ("unchanged", "superseded"):
            return Written(outcome, None, False)
    raise AppError("This entry is being changed elsewhere right now; try again.", status=409)


async def is_deleted(
    conn: Connection, table: Table, patient_id: UUID, entry_id: UUID
) -> bool | None:
    """True for a tombstone, False for a live entry, None when the patient has no such id."""
    deleted: bool | None = await conn.fetchval(
        f"SELECT deleted FROM {table.name} WHERE id = $1 AND patient_id = $2", entry_id, patient_id
    )
    return deleted


def feed_statement(table: Table) -> str:
    """A patient's entries changed after a change_seq, oldest change first, tombstones included."""
    return f"""SELECT {table.reads}, change_seq FROM {table.name}
                WHERE patient_id = $1 AND change_seq > $2
                ORDER BY change_seq LIMIT $3"""


async def last_change_seq(conn: Connection, patient_id: UUID) -> int:
    seq: int | None = await conn.fetchval(
        "SELECT seq FROM sync_counters WHERE patient_id = $1", patient_id
    )
    return seq or 0
