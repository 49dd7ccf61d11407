"""Helpers shared by the logging tests (check-ins, assessments, infusions, sync): request
bodies at times relative to now, and the rows the logging tables hold."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from server import db

LOG_TABLES = ("checkins", "assessments", "infusions", "sync_counters")


def new_id() -> str:
    return str(uuid.uuid4())


def iso(moment: datetime) -> str:
    return moment.isoformat()


def hours_ago(hours: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours)


def checkin(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"recorded_at": iso(hours_ago(1)), "mood": 6}
    body.update(overrides)
    return body


def phq9(answers: list[int] | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "instrument": "phq9",
        "answers": answers if answers is not None else [1, 1, 1, 1, 1, 0, 0, 0, 0],
        "taken_at": iso(hours_ago(2)),
    }
    body.update(overrides)
    return body


def infusion(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "scheduled_at": iso(hours_ago(-72)),
        "duration_minutes": 40,
        "status": "planned",
    }
    body.update(overrides)
    return body


async def snapshot(pool: db.Pool) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the logging tables, in a stable order, to compare before and after."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with pool.acquire() as conn:
        for table in LOG_TABLES:
            rows = await conn.fetch(f"SELECT * FROM {table} ORDER BY 1")
            found[table] = [tuple(row.values()) for row in rows]
    return found


async def patient_rows(pool: db.Pool, table: str, patient_id: str) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT * FROM {table} WHERE patient_id = $1 ORDER BY id", uuid.UUID(patient_id)
        )
    return [dict(row) for row in rows]
