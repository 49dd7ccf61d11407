"""The write-path baseline: a bare Litestar + asyncpg endpoint doing the same insert.

One handler, ``PUT /checkins/{uuid}``, decodes the same JSON body and upserts one equivalent row
into ``bare_checkins`` (a copy of the ``checkins`` table, its checks and indexes included) with
no session, CSRF, validation rules, sync counter or audit. It is served by uvicorn with the
settings ``python -m server serve`` uses, in one process, with the app's pool size.

    DATABASE_URL=... BENCH_PATIENT_ID=... python -m bench.bare_app --port 8001
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
import uvicorn
from litestar import Litestar, get, put
from litestar.datastructures import State

ZONE = ZoneInfo("America/New_York")


class SideEffect(msgspec.Struct):
    code: str
    severity: int


class CheckInBody(msgspec.Struct):
    recorded_at: datetime
    mood: int
    side_effects: list[SideEffect] = []
    note: str | None = None


class Stored(msgspec.Struct):
    id: UUID
    status: str


UPSERT = """
INSERT INTO bare_checkins (id, patient_id, recorded_at, local_day, mood, note, side_effects,
                           client_updated_at, version, change_seq)
VALUES ($1, $2, $3, $4, $5, $6, $7, $3, 'bare', 0)
ON CONFLICT (id) DO UPDATE
   SET recorded_at = EXCLUDED.recorded_at, local_day = EXCLUDED.local_day,
       mood = EXCLUDED.mood, note = EXCLUDED.note, side_effects = EXCLUDED.side_effects
"""


@put("/checkins/{checkin_id:uuid}")
async def store_checkin(checkin_id: UUID, data: CheckInBody, state: State) -> Stored:
    pool: asyncpg.Pool = state.pool
    await pool.execute(
        UPSERT,
        checkin_id,
        state.patient_id,
        data.recorded_at,
        data.recorded_at.astimezone(ZONE).date(),
        data.mood,
        data.note,
        data.side_effects,
    )
    return Stored(id=checkin_id, status="stored")


@get("/readyz")
async def readyz(state: State) -> dict[str, str]:
    await state.pool.fetchval("SELECT 1")
    return {"status": "ready"}


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    async def init(conn: asyncpg.Connection) -> None:
        await conn.set_type_codec(
            "jsonb", encoder=_json, decoder=msgspec.json.decode, schema="pg_catalog"
        )

    url = os.environ["DATABASE_URL"]
    setup = await asyncpg.connect(url)
    try:
        await setup.execute(
            "CREATE TABLE IF NOT EXISTS bare_checkins (LIKE checkins INCLUDING ALL)"
        )
    finally:
        await setup.close()
    size = int(os.environ.get("AFTERGLOW_DB_POOL_SIZE", "10"))
    app.state.pool = await asyncpg.create_pool(url, min_size=1, max_size=size, init=init)
    app.state.patient_id = UUID(os.environ["BENCH_PATIENT_ID"])
    try:
        yield
    finally:
        await app.state.pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = Litestar(route_handlers=[store_checkin, readyz], lifespan=[lifespan], debug=False)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        proxy_headers=True,
        server_header=False,
    )


if __name__ == "__main__":
    main()
