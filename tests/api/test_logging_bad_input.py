"""Bad input to every logging endpoint: a 4xx problem naming the field, and no change at all.

Sync rejects a bad change on its own (status 200, that item ``rejected`` with a problem naming
``changes[i]...``); a bad request as a whole (too many changes, a bad cursor) is a 400.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar

from server import db
from tests.helpers.accounts import register
from tests.helpers.client import Client
from tests.helpers.log_entries import checkin, hours_ago, infusion, iso, new_id, phq9, snapshot

ID = "3f2a8d9e-1b4c-4e6f-9a0b-2c3d4e5f6a7b"
FUTURE = iso(datetime.now(UTC) + timedelta(days=2))
NAIVE = "2024-05-01T08:00:00"


def effects(*items: dict[str, Any]) -> dict[str, Any]:
    return checkin(side_effects=list(items))


def item(data: Any = None, **overrides: Any) -> dict[str, Any]:
    change = {
        "kind": "checkin",
        "id": new_id(),
        "op": "upsert",
        "updated_at": iso(hours_ago(1)),
        "data": checkin() if data is None else data,
    }
    change.update(overrides)
    return change


C = f"/api/v1/checkins/{ID}"
A = f"/api/v1/assessments/{ID}"
INF = f"/api/v1/infusions/{ID}"
S = "/api/v1/sync"

# (name, method, url, json body or query params, field named in the problem)
CASES: list[tuple[str, str, str, Any, str]] = [
    ("mood above 10", "PUT", C, checkin(mood=11), "mood"),
    ("mood below 0", "PUT", C, checkin(mood=-1), "mood"),
    ("mood missing", "PUT", C, {"recorded_at": iso(hours_ago(1))}, "mood"),
    ("mood a word", "PUT", C, checkin(mood="high"), "mood"),
    ("mood a boolean", "PUT", C, checkin(mood=True), "mood"),
    ("mood a fraction", "PUT", C, checkin(mood=5.5), "mood"),
    ("mood null", "PUT", C, checkin(mood=None), "mood"),
    ("anxiety above 10", "PUT", C, checkin(anxiety=11), "anxiety"),
    ("energy below 0", "PUT", C, checkin(energy=-2), "energy"),
    ("sleep in quarter hours", "PUT", C, checkin(sleep_hours=7.25), "sleep_hours"),
    ("sleep above 24", "PUT", C, checkin(sleep_hours=24.5), "sleep_hours"),
    ("sleep below 0", "PUT", C, checkin(sleep_hours=-0.5), "sleep_hours"),
    ("note too long", "PUT", C, checkin(note="x" * 2001), "note"),
    ("note with NUL", "PUT", C, checkin(note="a\x00b"), "note"),
    ("note a number", "PUT", C, checkin(note=5), "note"),
    (
        "unknown side effect",
        "PUT",
        C,
        effects({"code": "euphoria", "severity": 1}),
        "side_effects[0].code",
    ),
    (
        "duplicate side effect",
        "PUT",
        C,
        effects({"code": "nausea", "severity": 1}, {"code": "nausea", "severity": 3}),
        "side_effects[1].code",
    ),
    (
        "severity 0",
        "PUT",
        C,
        effects({"code": "nausea", "severity": 0}),
        "side_effects[0].severity",
    ),
    (
        "severity 4",
        "PUT",
        C,
        effects({"code": "nausea", "severity": 4}),
        "side_effects[0].severity",
    ),
    (
        "severity missing",
        "PUT",
        C,
        effects({"code": "nausea"}),
        "side_effects[0].severity",
    ),
    (
        "text on a listed effect",
        "PUT",
        C,
        effects({"code": "nausea", "severity": 1, "text": "bad"}),
        "side_effects[0].text",
    ),
    (
        "other text too long",
        "PUT",
        C,
        effects({"code": "other", "severity": 1, "text": "y" * 201}),
        "side_effects[0].text",
    ),
    (
        "unknown field in a side effect",
        "PUT",
        C,
        effects({"code": "nausea", "severity": 1, "colour": "green"}),
        "side_effects[0].colour",
    ),
    ("side effects not a list", "PUT", C, checkin(side_effects="nausea"), "side_effects"),
    (
        "too many side effects",
        "PUT",
        C,
        checkin(side_effects=[{"code": "nausea", "severity": 1}] * 13),
        "side_effects",
    ),
    ("recorded_at without offset", "PUT", C, checkin(recorded_at=NAIVE), "recorded_at"),
    ("recorded_at 2 days ahead", "PUT", C, checkin(recorded_at=FUTURE), "recorded_at"),
    (
        "recorded_at before 2000",
        "PUT",
        C,
        checkin(recorded_at="1999-12-31T23:00:00Z"),
        "recorded_at",
    ),
    ("recorded_at a word", "PUT", C, checkin(recorded_at="yesterday"), "recorded_at"),
    (
        "recorded_at past year 9999",
        "PUT",
        C,
        checkin(recorded_at="9999-12-31T23:00:00-05:00"),
        "recorded_at",
    ),
    (
        "recorded_at in year 1",
        "PUT",
        C,
        checkin(recorded_at="0001-01-01T00:00:00+05:00"),
        "recorded_at",
    ),
    # msgspec refuses such JSON before any field is known: the problem names the body.
    ("note with a lone surrogate", "PUT", C, json.dumps(checkin(note="a\ud800b")).encode(), "body"),
    ("updated_at 2 days ahead", "PUT", C, checkin(updated_at=FUTURE), "updated_at"),
    ("unknown field", "PUT", C, checkin(colour="blue"), "colour"),
    ("bad uuid on put", "PUT", "/api/v1/checkins/not-a-uuid", checkin(), "id"),
    ("body a list", "PUT", C, [checkin()], "body"),
    ("from not a date", "GET", "/api/v1/checkins", {"from": "2024-13-01"}, "from"),
    (
        "from after to",
        "GET",
        "/api/v1/checkins",
        {"from": "2024-05-02", "to": "2024-05-01"},
        "from",
    ),
    ("range too long", "GET", "/api/v1/checkins", {"from": "2023-01-01", "to": "2024-06-01"}, "to"),
    ("from in year 9999", "GET", "/api/v1/checkins", {"from": "9999-12-31"}, "from"),
    ("to in year 1", "GET", "/api/v1/checkins", {"to": "0001-01-01"}, "to"),
    ("from before 2000", "GET", "/api/v1/assessments", {"from": "1999-12-31"}, "from"),
    ("to after 2100", "GET", "/api/v1/infusions", {"to": "2101-01-01"}, "to"),
    ("limit 0", "GET", "/api/v1/checkins", {"limit": 0}, "limit"),
    ("limit 501", "GET", "/api/v1/checkins", {"limit": 501}, "limit"),
    ("page cursor garbage", "GET", "/api/v1/checkins", {"cursor": "%%%"}, "cursor"),
    ("bad uuid on get", "GET", "/api/v1/checkins/12345", None, "id"),
    ("bad uuid on delete", "DELETE", "/api/v1/checkins/12345", None, "id"),
    ("unknown instrument", "PUT", A, phq9(instrument="bdi"), "instrument"),
    ("phq9 with 8 answers", "PUT", A, phq9([0] * 8), "answers"),
    ("phq9 with 10 answers", "PUT", A, phq9([0] * 10), "answers"),
    ("gad7 with 9 answers", "PUT", A, phq9([0] * 9, instrument="gad7"), "answers"),
    ("answer 4", "PUT", A, phq9([0, 0, 4, 0, 0, 0, 0, 0, 0]), "answers[2]"),
    ("answer -1", "PUT", A, phq9([-1, 0, 0, 0, 0, 0, 0, 0, 0]), "answers[0]"),
    ("answers missing", "PUT", A, {"instrument": "phq9", "taken_at": iso(hours_ago(1))}, "answers"),
    ("taken_at 2 days ahead", "PUT", A, phq9(taken_at=FUTURE), "taken_at"),
    (
        "filter by unknown instrument",
        "GET",
        "/api/v1/assessments",
        {"instrument": "bdi"},
        "instrument",
    ),
    ("duration 9 minutes", "PUT", INF, infusion(duration_minutes=9), "duration_minutes"),
    ("duration 241 minutes", "PUT", INF, infusion(duration_minutes=241), "duration_minutes"),
    ("status unknown", "PUT", INF, infusion(status="done"), "status"),
    ("notes too long", "PUT", INF, infusion(notes="n" * 1001), "notes"),
    (
        "scheduled 3 years ahead",
        "PUT",
        INF,
        infusion(scheduled_at=iso(datetime.now(UTC) + timedelta(days=3 * 366))),
        "scheduled_at",
    ),
    ("scheduled without offset", "PUT", INF, infusion(scheduled_at=NAIVE), "scheduled_at"),
    (
        "infusions from after to",
        "GET",
        "/api/v1/infusions",
        {"from": "2024-02-01", "to": "2024-01-01"},
        "from",
    ),
    ("501 changes", "POST", S, {"changes": [item() for _ in range(501)]}, "changes"),
    ("changes missing", "POST", S, {"since": None}, "changes"),
    ("changes not a list", "POST", S, {"changes": {"a": 1}}, "changes"),
    ("cursor not ours", "POST", S, {"changes": [item()], "since": "bm90LWEtY3Vyc29y"}, "since"),
    ("unknown top-level field", "POST", S, {"changes": [], "device": "x"}, "device"),
    (
        "changes nested 10000 deep",
        "POST",
        S,
        b'{"changes":' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        "body",
    ),
    ("mood a numeric string", "PUT", C, checkin(mood="7"), "mood"),
    ("sleep a numeric string", "PUT", C, checkin(sleep_hours="7.5"), "sleep_hours"),
    ("duration a numeric string", "PUT", INF, infusion(duration_minutes="40"), "duration_minutes"),
]

# Sync changes that are each rejected alone: (name, change, field in its problem).
ITEMS: list[tuple[str, Any, str]] = [
    ("unknown kind", item(kind="note"), "changes[0].kind"),
    ("unknown op", item(op="merge"), "changes[0].op"),
    ("bad id", item(id="42"), "changes[0].id"),
    ("updated_at ahead", item(updated_at=FUTURE), "changes[0].updated_at"),
    ("updated_at without offset", item(updated_at=NAIVE), "changes[0].updated_at"),
    ("upsert without data", item(data=None) | {"data": None}, "changes[0].data"),
    ("mood above 10", item(checkin(mood=11)), "changes[0].data.mood"),
    ("mood missing", item({"recorded_at": iso(hours_ago(1))}), "changes[0].data.mood"),
    (
        "duplicate side effects",
        item(effects({"code": "nausea", "severity": 1}, {"code": "nausea", "severity": 1})),
        "changes[0].data.side_effects[1].code",
    ),
    ("unknown field in data", item(checkin(colour="blue")), "changes[0].data.colour"),
    ("recorded_at ahead", item(checkin(recorded_at=FUTURE)), "changes[0].data.recorded_at"),
    (
        "wrong answer count",
        item(phq9([0] * 7), kind="assessment"),
        "changes[0].data.answers",
    ),
    (
        "infusion too short",
        item(infusion(duration_minutes=5), kind="infusion"),
        "changes[0].data.duration_minutes",
    ),
    ("not an object", 17, "changes[0]"),
    ("unknown field in change", item(device="phone"), "changes[0].device"),
    ("mood a numeric string", item(checkin(mood="7")), "changes[0].data.mood"),
    ("NUL in the kind", item(kind="checkin\x00"), "changes[0].kind"),
    ("NUL in a note", item(checkin(note="a\x00b")), "changes[0].data.note"),
    ("NUL in a field's name", item(checkin(**{"n\x00": 1})), "changes[0].data.n\x00"),
]


@pytest.fixture(scope="module")
async def patient(app: Litestar) -> Any:
    """One patient for the whole table: signing up costs an argon2 hash."""
    client = Client(app)
    await register(client)
    await client.put(f"/api/v1/checkins/{new_id()}", json=checkin())  # real rows to keep
    return client


@pytest.mark.parametrize(
    ("name", "method", "url", "payload", "field"), CASES, ids=[c[0] for c in CASES]
)
async def test_bad_request_names_the_field(
    patient: Any, pool: db.Pool, name: str, method: str, url: str, payload: Any, field: str
) -> None:
    before = await snapshot(pool)
    if method == "GET":
        response = await patient.get(url, params=payload)
    elif method == "DELETE":
        response = await patient.delete(url)
    elif isinstance(payload, bytes):  # JSON that httpx would refuse to encode
        headers = {"content-type": "application/json"}
        response = await patient.request(method, url, content=payload, headers=headers)
    else:
        response = await patient.request(method, url, json=payload)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["field"] == field, problem
    assert problem["detail"]
    assert await snapshot(pool) == before


@pytest.mark.parametrize(("name", "change", "field"), ITEMS, ids=[i[0] for i in ITEMS])
async def test_bad_change_is_rejected_alone(
    patient: Any, pool: db.Pool, name: str, change: Any, field: str
) -> None:
    good = item()
    before = await snapshot(pool)
    response = await patient.post(S, json={"changes": [change, good], "since": None})
    assert response.status_code == 200, response.text
    bad_result, good_result = response.json()["results"]
    assert bad_result["status"] == "rejected"
    assert bad_result["problem"]["status"] == 400
    assert bad_result["problem"]["field"] == field, bad_result
    assert good_result["status"] == "applied"
    after = await snapshot(pool)
    # Only the good change landed.
    assert len(after["checkins"]) == len(before["checkins"]) + 1


async def test_body_that_is_not_json(patient: Any, pool: db.Pool) -> None:
    before = await snapshot(pool)
    response = await patient.put(
        C, content=b"{mood: 5", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "body"
    assert await snapshot(pool) == before
    assert len(CASES) + len(ITEMS) >= 40
