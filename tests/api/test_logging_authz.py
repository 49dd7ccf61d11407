"""Who may touch a log: only its patient. Another patient's ids answer 404 and change nothing;
a clinician gets 403 on these patient-only endpoints (shared data is read elsewhere, through
/patients/{id}/...); nobody signed in gets 401."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar

from server import db
from tests.helpers.accounts import make_clinician, register
from tests.helpers.client import Client
from tests.helpers.log_entries import checkin, hours_ago, infusion, iso, new_id, phq9, snapshot

KINDS = {
    "checkin": ("/api/v1/checkins", checkin),
    "assessment": ("/api/v1/assessments", phq9),
    "infusion": ("/api/v1/infusions", infusion),
}


@pytest.fixture(scope="module")
async def alice(app: Litestar) -> Any:
    """Patient A, with one entry of each kind (``alice.ids``)."""
    client = Client(app)
    await register(client, display_name="Alice")
    client.ids = {}  # type: ignore[attr-defined]
    for kind, (url, body) in KINDS.items():
        entry = new_id()
        response = await client.put(f"{url}/{entry}", json=body())
        assert response.status_code == 201, response.text
        client.ids[kind] = entry  # type: ignore[attr-defined]
    return client


@pytest.fixture(scope="module")
async def bob(app: Litestar) -> Any:
    client = Client(app)
    await register(client, display_name="Bob")
    return client


@pytest.mark.parametrize("kind", list(KINDS))
async def test_another_patients_entry_is_not_found(
    alice: Any, bob: Any, pool: db.Pool, kind: str
) -> None:
    url, body = KINDS[kind]
    entry = alice.ids[kind]
    mine = (await alice.get(f"{url}/{entry}")).json()
    before = await snapshot(pool)

    assert (await bob.get(f"{url}/{entry}")).status_code == 404
    assert (await bob.put(f"{url}/{entry}", json=body())).status_code == 404
    later = body(updated_at=iso(hours_ago(-1)))
    assert (await bob.put(f"{url}/{entry}", json=later)).status_code == 404
    assert (await bob.delete(f"{url}/{entry}")).status_code == 404
    assert entry not in (await bob.get(url)).text

    assert await snapshot(pool) == before  # not even Bob's own counter moved
    assert (await alice.get(f"{url}/{entry}")).json() == mine


async def test_syncing_onto_another_patients_ids_is_rejected(
    alice: Any, bob: Any, pool: db.Pool
) -> None:
    before = await snapshot(pool)
    changes = []
    for kind, (_, body) in KINDS.items():
        for op in ("upsert", "delete"):
            changes.append(
                {
                    "kind": kind,
                    "id": alice.ids[kind],
                    "op": op,
                    "updated_at": iso(hours_ago(-1)),
                    "data": body() if op == "upsert" else None,
                }
            )
    response = await bob.post("/api/v1/sync", json={"changes": changes, "since": None})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * len(changes)
    assert all(r["problem"]["status"] == 404 for r in results)
    assert [r["problem"]["field"] for r in results] == [f"changes[{i}].id" for i in range(6)]
    assert response.json()["changes"] == []
    assert await snapshot(pool) == before
    # And Alice's own feed is untouched by any of it.
    feed = (await alice.post("/api/v1/sync", json={"changes": [], "since": None})).json()
    assert {c["id"] for c in feed["changes"]} == set(alice.ids.values())


async def test_export_holds_only_my_data(alice: Any, bob: Any) -> None:
    document = (await bob.get("/api/v1/me/export")).json()
    assert document["checkins"] == document["assessments"] == document["infusions"] == []
    assert document["account"]["display_name"] == "Bob"


ENDPOINTS = [
    ("GET", "/api/v1/checkins", None),
    ("GET", f"/api/v1/checkins/{new_id()}", None),
    ("PUT", f"/api/v1/checkins/{new_id()}", checkin()),
    ("DELETE", f"/api/v1/checkins/{new_id()}", None),
    ("GET", "/api/v1/assessments", None),
    ("GET", f"/api/v1/assessments/{new_id()}", None),
    ("PUT", f"/api/v1/assessments/{new_id()}", phq9()),
    ("DELETE", f"/api/v1/assessments/{new_id()}", None),
    ("GET", "/api/v1/infusions", None),
    ("GET", f"/api/v1/infusions/{new_id()}", None),
    ("PUT", f"/api/v1/infusions/{new_id()}", infusion()),
    ("DELETE", f"/api/v1/infusions/{new_id()}", None),
    ("POST", "/api/v1/sync", {"changes": [], "since": None}),
    ("GET", "/api/v1/me/export", None),
]


@pytest.fixture(scope="module")
async def doctor(app: Litestar, pool: db.Pool) -> Any:
    client = Client(app)
    await make_clinician(pool, client)
    return client


@pytest.mark.parametrize(("method", "url", "body"), ENDPOINTS)
async def test_clinicians_and_strangers_are_turned_away(
    doctor: Any, app: Litestar, pool: db.Pool, method: str, url: str, body: Any
) -> None:
    before = await snapshot(pool)
    as_doctor = await doctor.request(method, url, json=body)
    assert as_doctor.status_code == 403, as_doctor.text
    assert as_doctor.headers["content-type"].startswith("application/problem+json")
    anonymous = await Client(app).request(method, url, json=body)
    assert anonymous.status_code == 401
    assert await snapshot(pool) == before


async def test_instruments_need_no_account(app: Litestar) -> None:
    assert (await Client(app).get("/api/v1/instruments")).status_code == 200


async def test_writes_need_the_csrf_header(alice: Any, pool: db.Pool) -> None:
    before = await snapshot(pool)
    alice.csrf = False
    try:
        response = await alice.put(f"/api/v1/checkins/{new_id()}", json=checkin())
    finally:
        alice.csrf = True
    assert response.status_code == 403
    assert await snapshot(pool) == before
