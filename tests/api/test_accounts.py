"""Accounts end to end: what a patient does from sign-up to erasure."""

from __future__ import annotations

from typing import Any

from tests.helpers.accounts import PASSWORD, register, unique_email


async def test_walkthrough(client_factory: Any) -> None:
    client = client_factory()
    email = unique_email()
    me = await register(client, email=email, display_name="Ada", timezone="Europe/Berlin")
    assert me["role"] == "patient" and me["timezone"] == "Europe/Berlin"

    assert (await client.get("/api/v1/me")).json()["email"] == email
    assert (await client.post("/api/v1/auth/logout")).status_code == 204
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")

    login = await client.post(
        "/api/v1/auth/login", json={"email": email.upper(), "password": PASSWORD}
    )
    assert login.status_code == 200
    patched = await client.patch(
        "/api/v1/me", json={"display_name": "Ada L.", "timezone": "Asia/Kolkata"}
    )
    assert patched.status_code == 200
    assert patched.json()["display_name"] == "Ada L."
    assert (await client.get("/api/v1/me")).json()["timezone"] == "Asia/Kolkata"

    assert (await client.delete("/api/v1/me")).status_code == 204
    assert (await client.get("/api/v1/me")).status_code == 401
    again = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert again.status_code == 401
