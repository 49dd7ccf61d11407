"""A new kind of log entry is one entry in the log-kind table (server/domain/logbook.py) plus
its table: PUT, GET, DELETE, /sync and the data export then work for it with no other change.

The kind here, a blood-pressure reading, exists only in this test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec
import pytest
from litestar import Litestar

from server import db
from server.app import create_app
from server.config import Settings
from server.domain.checkins import AwareDateTime, check_moment
from server.domain.logbook import KINDS, LogKind
from tests.helpers.accounts import register
from tests.helpers.app import running
from tests.helpers.client import Client

Pressure = Annotated[int, msgspec.Meta(ge=40, le=300)]


class ReadingContent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    measured_at: AwareDateTime
    systolic: Pressure
    diastolic: Pressure


class Reading(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    patient_id: UUID
    measured_at: datetime
    local_day: date
    systolic: int
    diastolic: int
    updated_at: datetime


def prepare(content: ReadingContent, now: datetime) -> ReadingContent:
    """The time checked like every entry's, and kept in UTC."""
    return msgspec.structs.replace(
        content, measured_at=check_moment(content.measured_at, now, "measured_at")
    )


READINGS = LogKind("bp_reading", ReadingContent, Reading, prepare, "measured_at")

# What a migration adding the kind would hold: the table with the bookkeeping columns every log
# table has, and its key function for the write path (as migrations/0008 makes for the others).
TABLE = """
CREATE TABLE bp_readings (
    id uuid PRIMARY KEY,
    patient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    measured_at timestamptz, local_day date, systolic smallint, diastolic smallint,
    deleted boolean NOT NULL DEFAULT false,
    client_updated_at timestamptz NOT NULL,
    version text NOT NULL,
    change_seq bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now());
GRANT SELECT, INSERT, UPDATE, DELETE ON bp_readings TO afterglow_app;
CREATE FUNCTION entry_key_bp_readings(entry uuid, patient uuid)
RETURNS TABLE (own boolean, client_updated_at timestamptz, deleted boolean, version text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $b$
    SELECT patient_id = patient,
           CASE WHEN patient_id = patient THEN client_updated_at END,
           CASE WHEN patient_id = patient THEN deleted END,
           CASE WHEN patient_id = patient THEN version END
      FROM bp_readings WHERE id = entry
$b$;
"""


@pytest.fixture
async def app_with_readings(pool: db.Pool, settings: Settings) -> AsyncIterator[Litestar]:
    async with pool.acquire() as conn:
        await conn.execute(TABLE)
    KINDS[READINGS.name] = READINGS
    try:
        async with running(create_app(settings)) as app:
            yield app
    finally:
        del KINDS[READINGS.name]
        async with pool.acquire() as conn:
            await conn.execute("DROP TABLE bp_readings; DROP FUNCTION entry_key_bp_readings")


def reading(hours_ago: int = 1, **overrides: Any) -> dict[str, Any]:
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours_ago)
    return {"measured_at": moment.isoformat(), "systolic": 128, "diastolic": 82, **overrides}


async def test_a_fourth_kind_is_one_entry_in_the_table(app_with_readings: Litestar) -> None:
    async with Client(app_with_readings) as patient, Client(app_with_readings) as other:
        await register(patient)
        await register(other)
        first, second = str(uuid.uuid4()), str(uuid.uuid4())

        created = await patient.put(f"/api/v1/bp-readings/{first}", json=reading())
        assert created.status_code == 201, created.text
        assert created.json()["systolic"] == 128
        replay = await patient.put(f"/api/v1/bp-readings/{first}", json=reading())
        assert replay.status_code == 200
        bad = await patient.put(f"/api/v1/bp-readings/{second}", json=reading(systolic="high"))
        assert bad.status_code == 400 and bad.json()["field"] == "systolic"
        assert (await other.get(f"/api/v1/bp-readings/{first}")).status_code == 404

        synced = await patient.post(
            "/api/v1/sync",
            json={
                "changes": [
                    {
                        "kind": "bp_reading",
                        "id": second,
                        "op": "upsert",
                        "updated_at": datetime.now(UTC).isoformat(),
                        "data": reading(hours_ago=2, systolic=141),
                    }
                ],
                "since": None,
            },
        )
        assert synced.status_code == 200, synced.text
        assert synced.json()["results"][0]["status"] == "applied"
        kinds = {(c["kind"], c["id"]) for c in synced.json()["changes"]}
        assert {("bp_reading", first), ("bp_reading", second)} <= kinds

        listed = (await patient.get("/api/v1/bp-readings")).json()["items"]
        assert [item["systolic"] for item in listed] == [128, 141]  # latest first
        assert (await patient.get(f"/api/v1/bp-readings/{second}")).json()["systolic"] == 141

        assert (await patient.delete(f"/api/v1/bp-readings/{first}")).status_code == 204
        assert (await patient.get(f"/api/v1/bp-readings/{first}")).status_code == 404

        export = (await patient.get("/api/v1/me/export")).json()
        assert [r["id"] for r in export["bp-readings"]] == [second]
        assert (await other.get("/api/v1/me/export")).json()["bp-readings"] == []
