"""Input that once got past every check and answered 500: days at the ends of the calendar, JSON
nested thousands deep, NUL in text bound for PostgreSQL. Each is now a 400 naming the field and
changes nothing; and an error that does get through logs no patient data."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest

from server import db
from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.log_entries import snapshot

DEEP = b"[" * 10_000 + b"]" * 10_000
PUSH = "/api/v1/push/subscriptions"
ENDPOINT = "https://push.example.net/send/abc"
KEYS = {"p256dh": "B" + "A" * 86, "auth": "A" * 22}

# (name, method, url (``{id}``: the patient's own id), query, body, field named in the problem)
CASES: list[tuple[str, str, str, Any, Any, str]] = [
    (
        "summary from year 1",
        "GET",
        "/api/v1/patients/{id}/summary",
        {"from": "0001-01-01"},
        None,
        "from",
    ),
    (
        "summary to year 9999",
        "GET",
        "/api/v1/patients/{id}/summary",
        {"to": "9999-12-31"},
        None,
        "to",
    ),
    (
        "summary from 1999",
        "GET",
        "/api/v1/patients/{id}/summary",
        {"from": "1999-12-31"},
        None,
        "from",
    ),
    (
        "csv from year 1",
        "GET",
        "/api/v1/patients/{id}/export.csv",
        {"from": "0001-01-01"},
        None,
        "from",
    ),
    ("fhir to 2101", "GET", "/api/v1/patients/{id}/export.fhir", {"to": "2101-01-01"}, None, "to"),
    (
        "infusions to year 1",
        "GET",
        "/api/v1/patients/{id}/infusions",
        {"to": "0001-01-01"},
        None,
        "to",
    ),
    ("checkins from year 9999", "GET", "/api/v1/checkins", {"from": "9999-12-31"}, None, "from"),
    ("checkins to year 1", "GET", "/api/v1/checkins", {"to": "0001-01-01"}, None, "to"),
    ("NUL in a query string", "GET", "/api/v1/me/access-log", {"before": "1\x00"}, None, "before"),
    ("sync nested 10000 deep", "POST", "/api/v1/sync", None, b'{"changes":' + DEEP + b"}", "body"),
    (
        "a sync change's data nested 10000 deep",
        "POST",
        "/api/v1/sync",
        None,
        b'{"changes": [{"kind": "checkin", "op": "upsert", "data": ' + DEEP + b"}]}",
        "body",
    ),
    (
        "NUL in a subscribed endpoint",
        "POST",
        PUSH,
        None,
        {"endpoint": ENDPOINT + "\x00", "keys": KEYS},
        "endpoint",
    ),
    (
        "NUL in a push key",
        "POST",
        PUSH,
        None,
        {"endpoint": ENDPOINT, "keys": {**KEYS, "auth": "\x00"}},
        "keys.auth",
    ),
    (
        "NUL in an unsubscribed endpoint",
        "DELETE",
        PUSH,
        None,
        {"endpoint": ENDPOINT + "\x00"},
        "endpoint",
    ),
    ("NUL in a profile", "PATCH", "/api/v1/me", None, {"timezone": "UTC\x00"}, "timezone"),
]


async def _everything(pool: db.Pool) -> Any:
    async with pool.acquire() as conn:
        others = [
            await conn.fetch(f"SELECT * FROM {table} ORDER BY 1")
            for table in ("users", "push_subscriptions", "reminder_prefs", "shares")
        ]
    return [await snapshot(pool), [list(map(tuple, rows)) for rows in others]]


@pytest.mark.parametrize(
    ("name", "method", "url", "query", "body", "field"), CASES, ids=[c[0] for c in CASES]
)
async def test_bad_input_is_a_400_naming_the_field(
    patient: Any,
    pool: db.Pool,
    name: str,
    method: str,
    url: str,
    query: Any,
    body: Any,
    field: str,
) -> None:
    before = await _everything(pool)
    content = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    response = await patient.request(
        method,
        url.format(id=patient.me["id"]),
        params=query,
        content=content,
        headers={"content-type": "application/json"} if content is not None else {},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == field, response.json()
    assert await _everything(pool) == before


@pytest.mark.parametrize("path", ["/api/v1/auth/register", "/api/v1/auth/login"])
async def test_nul_in_an_email_is_refused(client_factory: Any, pool: db.Pool, path: str) -> None:
    before = await _everything(pool)
    response = await client_factory().post(
        path,
        json={
            "email": "nul\x00" + unique_email(),
            "password": PASSWORD,
            "display_name": "Sam",
            "timezone": "UTC",
        }
        if path.endswith("register")
        else {"email": "nul\x00" + unique_email(), "password": PASSWORD},
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "email"
    assert await _everything(pool) == before


async def test_a_database_error_logs_no_personal_data(
    client_factory: Any, pool: db.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL's DETAIL quotes the failing row ("Failing row contains (…)"): an email, a
    name, a note. A constraint the app does not know of stands in for any such surprise."""
    name, email = f"Canary {uuid.uuid4().hex}", unique_email("canary")
    async with pool.acquire() as conn:
        await conn.execute(
            f"ALTER TABLE users ADD CONSTRAINT test_canary CHECK (display_name <> '{name}') "
            "NOT VALID"
        )
    try:
        with caplog.at_level(logging.ERROR, logger="afterglow.errors"):
            response = await client_factory().post(
                "/api/v1/auth/register",
                json={
                    "email": email,
                    "password": PASSWORD,
                    "display_name": name,
                    "timezone": "UTC",
                },
            )
    finally:
        async with pool.acquire() as conn:
            await conn.execute("ALTER TABLE users DROP CONSTRAINT test_canary")
    assert response.status_code == 500, response.text
    logged = caplog.text
    assert response.json()["request_id"] in logged
    assert "CheckViolationError" in logged and "test_canary" in logged  # still debuggable
    assert name not in logged and email not in logged
    assert "Failing row" not in logged
