"""One round trip to PostgreSQL for a patient's check-in and for each read the app makes when
it starts (issue 19): the session lookup, the row-level-security grant and the work go to the
database together. Counted at the app's own connections (tests/helpers/round_trips.py); the
reset of a connection given back to the pool happens after the response is sent and is
counted apart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar

from server.timeutil import local_day
from tests.helpers.round_trips import client_of, counting


def _checkin(mood: int = 7) -> dict[str, Any]:
    # Mood 7, no side effect: nothing a monitoring rule watches, so nothing follows the write.
    return {"recorded_at": datetime.now(UTC).isoformat(), "mood": mood}


async def test_a_check_in_is_one_round_trip(app: Litestar, patient: Any) -> None:
    client = client_of(app, patient)
    async with client:
        # The first use of each statement on a connection prepares it (a round trip of its
        # own, once per connection): warm them all, then count.
        for _ in range(3):
            await client.put(f"/api/v1/checkins/{uuid.uuid4()}", json=_checkin())
        with counting(app) as trips:
            response = await client.put(f"/api/v1/checkins/{uuid.uuid4()}", json=_checkin())
            assert response.status_code == 201, response.text
            assert trips.answering == 1
            assert trips.after_response == 1  # the pool's reset, once the answer is out

            # A replay answers with what is stored: still one trip to write.
            entry = str(uuid.uuid4())
            body = _checkin()
            assert (await client.put(f"/api/v1/checkins/{entry}", json=body)).status_code == 201
            assert trips.answering == 1


async def test_the_reads_of_an_app_start_are_one_round_trip_each(
    app: Litestar, patient: Any
) -> None:
    today = local_day(datetime.now(UTC), "America/New_York").isoformat()
    client = client_of(app, patient)
    async with client:
        await client.put(f"/api/v1/checkins/{uuid.uuid4()}", json=_checkin())
        first = await client.post("/api/v1/sync", json={"changes": [], "since": None})
        cursor = first.json()["cursor"]
        reads = [
            ("GET", "/api/v1/me", None),
            ("GET", f"/api/v1/checkins?from={today}&to={today}", None),
            ("POST", "/api/v1/sync", {"changes": [], "since": cursor}),
        ]
        for method, url, body in reads * 2:  # warm the statements
            await client.request(method, url, json=body)
        with counting(app) as trips:
            for method, url, body in reads:
                response = await client.request(method, url, json=body)
                assert response.status_code == 200, response.text
                assert (url, trips.answering) == (url, 1)
            assert len(response.json()["changes"]) == 0
            listed = await client.get(f"/api/v1/checkins?from={today}&to={today}")
            assert len(listed.json()["items"]) == 1
            assert trips.answering == 1


async def test_one_trip_routes_refuse_what_the_guards_refuse(
    app: Litestar, patient: Any, clinician: Any, pool: Any
) -> None:
    """The session is checked after the statement that opened it, and the statement itself
    did nothing for a session that is not a patient's."""
    entry = str(uuid.uuid4())
    refused = await clinician.put(f"/api/v1/checkins/{entry}", json=_checkin())
    assert refused.status_code == 403
    assert (await clinician.post("/api/v1/sync", json={"changes": []})).status_code == 403
    today = datetime.now(UTC).date().isoformat()
    listed = await clinician.get(f"/api/v1/checkins?from={today}&to={today}")
    assert listed.status_code == 403
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM checkins WHERE id = $1", entry) == 0

    await patient.post("/api/v1/auth/logout")
    assert (await patient.put(f"/api/v1/checkins/{entry}", json=_checkin())).status_code == 401
    assert (await patient.post("/api/v1/sync", json={"changes": []})).status_code == 401
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM checkins WHERE id = $1", entry) == 0
