"""CSRF on every unsafe cookie-authenticated request; login throttling shared across processes."""

from __future__ import annotations

from typing import Any

from litestar import Litestar

from server.app import create_app
from server.config import Settings
from tests.helpers.accounts import PASSWORD, register, unique_email
from tests.helpers.client import Client


async def test_missing_or_wrong_csrf_is_403(patient: Any) -> None:
    patient.csrf = False
    missing = await patient.patch("/api/v1/me", json={"display_name": "X"})
    assert missing.status_code == 403
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "CSRF" in missing.json()["detail"]
    wrong = await patient.patch(
        "/api/v1/me", json={"display_name": "X"}, headers={"X-CSRF-Token": "0" * 128}
    )
    assert wrong.status_code == 403
    assert (await patient.get("/api/v1/me")).json()["display_name"] == "Test Patient"


async def test_register_and_login_need_csrf_too(client_factory: Any) -> None:
    client = client_factory()
    client.csrf = False
    response = await client.post(
        "/api/v1/auth/register",
        json={
            "email": unique_email(),
            "password": PASSWORD,
            "display_name": "A",
            "timezone": "UTC",
        },
    )
    assert response.status_code == 403


async def _second_app(settings: Settings) -> Litestar:
    return create_app(settings)


async def test_login_throttle_is_shared_by_two_app_instances(
    client_factory: Any, app: Litestar, settings: Settings
) -> None:
    owner = client_factory()
    email = unique_email()
    await register(owner, email=email)

    other = create_app(settings)  # a second process's worth of app: its own pool, same database
    async with other.lifespan():
        # One guesser (one address) whose requests a load balancer spreads over both processes:
        # failures count per (account, address), so the address is the same.
        first = client_factory("127.77.0.1")
        second = Client(other, "127.77.0.1")
        for attempt in range(5):
            client = first if attempt % 2 == 0 else second
            bad = await client.post(
                "/api/v1/auth/login", json={"email": email, "password": "wrong password!"}
            )
            assert bad.status_code == 401
        for client in (first, second):
            blocked = await client.post(
                "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
            )
            assert blocked.status_code == 429
            assert 0 < int(blocked.headers["retry-after"]) <= 15 * 60
            assert blocked.headers["content-type"].startswith("application/problem+json")
        await second.aclose()


async def test_address_throttle(client_factory: Any) -> None:
    address = "127.9.9.9"
    client = client_factory(address)
    for _ in range(20):
        response = await client.post(
            "/api/v1/auth/login", json={"email": unique_email(), "password": "nope nope nope"}
        )
        assert response.status_code == 401
    blocked = await client.post(
        "/api/v1/auth/login", json={"email": unique_email(), "password": "nope nope nope"}
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0


async def test_unknown_email_and_wrong_password_look_the_same(client_factory: Any) -> None:
    owner = client_factory()
    email = unique_email()
    await register(owner, email=email)
    probe = client_factory()
    wrong = await probe.post(
        "/api/v1/auth/login", json={"email": email, "password": "wrong password!"}
    )
    unknown = await probe.post(
        "/api/v1/auth/login", json={"email": unique_email(), "password": "wrong password!"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
