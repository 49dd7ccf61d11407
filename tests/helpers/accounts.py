"""Accounts for tests against the in-process app: the one password, fresh email addresses,
patients registered through the API and clinicians made in the database (there is no sign-up
for them)."""

from __future__ import annotations

import uuid
from typing import Any

from server import db
from server.services import passwords
from server.store import users as user_store
from tests.helpers.client import Client

PASSWORD = "correct horse battery"


def unique_email(prefix: str = "patient") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.org"


async def register(
    client: Client,
    *,
    email: str | None = None,
    timezone: str = "America/New_York",
    display_name: str = "Test Patient",
    language: str | None = None,
) -> dict[str, Any]:
    body = {
        "email": email or unique_email(),
        "password": PASSWORD,
        "display_name": display_name,
        "timezone": timezone,
    }
    if language is not None:
        body["language"] = language
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    me: dict[str, Any] = response.json()
    return me


async def make_clinician(pool: db.Pool, client: Client, name: str = "Dr. Test") -> dict[str, Any]:
    email = unique_email("clinician")
    password_hash = await passwords.hash_password(PASSWORD)
    async with db.transaction(pool) as conn:
        await user_store.create_user(
            conn,
            email=email,
            role="clinician",
            password_hash=password_hash,
            display_name=name,
            timezone="America/New_York",
        )
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
