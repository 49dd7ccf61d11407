"""Bad input to the account endpoints: a 4xx problem naming the field, and nothing changes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from server import db
from tests.helpers.accounts import PASSWORD, unique_email

GOOD = {
    "email": "x@example.org",
    "password": PASSWORD,
    "display_name": "Sam",
    "timezone": "Europe/Paris",
}


def reg(**changes: Any) -> dict[str, Any]:
    body = {**GOOD, "email": unique_email(), **changes}
    return {k: v for k, v in body.items() if v is not ...}


# (method, path, body (dict, or raw bytes), expected status, expected field)
CASES: list[tuple[str, str, Any, int, str | None]] = [
    ("POST", "/api/v1/auth/register", b"{not json", 400, "body"),
    ("POST", "/api/v1/auth/register", b"", 400, "body"),
    ("POST", "/api/v1/auth/register", b"[1, 2, 3]", 400, "body"),
    ("POST", "/api/v1/auth/register", b'"just a string"', 400, "body"),
    ("POST", "/api/v1/auth/register", reg(email=...), 400, "email"),
    ("POST", "/api/v1/auth/register", reg(email=42), 400, "email"),
    ("POST", "/api/v1/auth/register", reg(email="not-an-email"), 400, "email"),
    ("POST", "/api/v1/auth/register", reg(email="a@b.c" + "x" * 10_000), 400, "email"),
    ("POST", "/api/v1/auth/register", reg(password="short"), 400, "password"),
    ("POST", "/api/v1/auth/register", reg(password="p" * 257), 400, "password"),
    ("POST", "/api/v1/auth/register", reg(password=None), 400, "password"),
    ("POST", "/api/v1/auth/register", reg(display_name="   "), 400, "display_name"),
    ("POST", "/api/v1/auth/register", reg(display_name="n" * 101), 400, "display_name"),
    ("POST", "/api/v1/auth/register", reg(display_name="nul\u0000byte"), 400, "display_name"),
    ("POST", "/api/v1/auth/register", reg(email="nul\u0000@example.org"), 400, "email"),
    ("POST", "/api/v1/auth/register", reg(email="a\u200b@example.com"), 400, "email"),
    ("POST", "/api/v1/auth/register", reg(email="a\u202e@example.org"), 400, "email"),
    ("POST", "/api/v1/auth/register", reg(email="soft\u00adhyphen@example.org"), 400, "email"),
    ("POST", "/api/v1/auth/register", reg(timezone="Mars/Olympus_Mons"), 400, "timezone"),
    ("POST", "/api/v1/auth/register", reg(timezone="UTC'; DROP TABLE users; --"), 400, "timezone"),
    ("POST", "/api/v1/auth/register", reg(timezone=["UTC"]), 400, "timezone"),
    ("POST", "/api/v1/auth/register", reg(role="clinician"), 400, "role"),
    ("POST", "/api/v1/auth/register", reg(display_name={"$gt": ""}), 400, "display_name"),
    (
        "POST",
        "/api/v1/auth/register",
        b'{"email": "a@b.org", "password": "\\ud800\\ud800\\ud800\\ud800\\ud800", '
        b'"display_name": "x", "timezone": "UTC"}',
        400,
        None,
    ),
    ("POST", "/api/v1/auth/login", {"email": unique_email()}, 400, "password"),
    (
        "POST",
        "/api/v1/auth/login",
        {"email": "a@b.org", "password": PASSWORD, "otp": 1},
        400,
        "otp",
    ),
    ("POST", "/api/v1/auth/login", {"email": "' OR '1'='1", "password": "' OR '1'='1"}, 401, None),
    (
        "POST",
        "/api/v1/auth/login",
        {"email": "nul\u0000@example.org", "password": PASSWORD},
        400,
        "email",
    ),
    (
        "POST",
        "/api/v1/auth/login",
        {"email": "a@example.org", "password": 1234567890},
        400,
        "password",
    ),
    ("PATCH", "/api/v1/me", {"timezone": ""}, 400, "timezone"),
    ("PATCH", "/api/v1/me", {"timezone": "Europe/Nowhere"}, 400, "timezone"),
    ("PATCH", "/api/v1/me", {"display_name": None}, 400, "display_name"),
    ("PATCH", "/api/v1/me", {"clinic_phone": "<script>alert(1)</script>"}, 400, "clinic_phone"),
    ("PATCH", "/api/v1/me", {"email": "new@example.org"}, 400, "email"),
    ("PATCH", "/api/v1/me", {"role": "clinician"}, 400, "role"),
    ("PATCH", "/api/v1/me", b"null", 400, "body"),
    (
        "POST",
        "/api/v1/auth/password",
        {"current_password": "wrong wrong wrong", "new_password": "another long one"},
        400,
        "current_password",
    ),
    (
        "POST",
        "/api/v1/auth/password",
        {"current_password": PASSWORD, "new_password": "short"},
        400,
        "new_password",
    ),
    ("POST", "/api/v1/auth/register", b'{"email": "' + b"x" * (1024 * 1024) + b'"}', 413, None),
]


async def _snapshot(pool: db.Pool) -> list[Any]:
    async with db.transaction(pool) as conn:
        users = await conn.fetch(
            "SELECT id, email, role, password_hash, display_name, timezone, clinic_phone "
            "FROM users ORDER BY id"
        )
        sessions = await conn.fetchval("SELECT count(*) FROM sessions")
    return [list(map(tuple, users)), sessions]


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), CASES)
async def test_bad_input(
    patient: Any, pool: db.Pool, method: str, path: str, body: Any, status: int, field: str | None
) -> None:
    before = await _snapshot(pool)
    if isinstance(body, bytes):
        response = await patient.request(
            method, path, content=body, headers={"Content-Type": "application/json"}
        )
    else:
        response = await patient.request(
            method, path, content=json.dumps(body), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status and problem["detail"]
    assert "Traceback" not in response.text
    if field is not None:
        assert problem["field"] == field, problem
    assert await _snapshot(pool) == before


async def test_duplicate_email_is_a_conflict(patient: Any, client_factory: Any) -> None:
    other = client_factory()
    response = await other.post(
        "/api/v1/auth/register", json={**GOOD, "email": patient.me["email"].upper()}
    )
    assert response.status_code == 409
    assert response.json()["field"] == "email"


def fullwidth(text: str) -> str:
    """The lookalike of an ASCII text in fullwidth forms (ｐａｔ＠ｅｘａｍｐｌｅ．ｏｒｇ)."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


async def test_a_lookalike_email_is_the_same_account(patient: Any, client_factory: Any) -> None:
    lookalike = fullwidth(patient.me["email"])
    assert lookalike != patient.me["email"]
    response = await client_factory().post(
        "/api/v1/auth/register", json={**GOOD, "email": lookalike}
    )
    assert response.status_code == 409, response.text
    assert response.json()["field"] == "email"
    signed_in = await client_factory().post(
        "/api/v1/auth/login", json={"email": lookalike, "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["id"] == patient.me["id"]


async def test_a_lookalike_email_is_kept_in_plain_letters(client_factory: Any) -> None:
    email = unique_email()
    response = await client_factory().post(
        "/api/v1/auth/register", json={**GOOD, "email": fullwidth(email)}
    )
    assert response.status_code == 201, response.text
    assert response.json()["email"] == email


async def test_invisible_characters_are_dropped_from_a_name(client_factory: Any) -> None:
    response = await client_factory().post(
        "/api/v1/auth/register",
        json={**GOOD, "email": unique_email(), "display_name": "Dr\u200b. \u202eSmith\u202c"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["display_name"] == "Dr. Smith"


async def test_unicode_names_are_welcome(client_factory: Any) -> None:
    client = client_factory()
    response = await client.post(
        "/api/v1/auth/register",
        json={
            **GOOD,
            "email": unique_email(),
            "display_name": "  Zoë 🌅  Ñuñez  ",
            "password": "pässwörd with ümlauts ✓",
        },
    )
    assert response.status_code == 201
    assert response.json()["display_name"] == "Zoë 🌅 Ñuñez"
