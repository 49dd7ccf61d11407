"""Deployment hardening that depends on settings: over HTTPS the CSRF cookie is a ``__Host-``
cookie (Secure, Path=/, no Domain), so a sibling subdomain cannot plant one; the OpenAPI document
is served only when AFTERGLOW_OPENAPI=1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar

from server.app import create_app
from server.config import Settings
from tests.helpers.accounts import PASSWORD, register, unique_email
from tests.helpers.app import running
from tests.helpers.client import Client

PUBLIC_URL = "https://afterglow.example"


@pytest.fixture(scope="module")
async def https_app(settings: Settings) -> AsyncIterator[Litestar]:
    served = msgspec.structs.replace(settings, public_url=PUBLIC_URL)
    async with running(create_app(served)) as app:
        yield app


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    """Each cookie the response sets: name -> its attributes, as sent."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        found[name] = rest.partition(";")[2].lower()
    return found


async def test_over_https_the_csrf_cookie_is_a_host_cookie(https_app: Litestar) -> None:
    client = Client(https_app)
    try:
        cookies = _set_cookies(await client.get("/healthz"))
        assert list(cookies) == ["__Host-csrftoken"]
        attributes = [part.strip() for part in cookies["__Host-csrftoken"].split(";")]
        assert "secure" in attributes and "path=/" in attributes
        assert not any(part.startswith("domain") for part in attributes)
        # The app's own pages and clients echo it and are let in.
        await register(client)
    finally:
        await client.aclose()


async def test_over_https_a_planted_plain_csrf_cookie_is_refused(https_app: Litestar) -> None:
    """Cookie tossing: a sibling subdomain sets `csrftoken` for the parent domain, holding a
    token the attacker fetched for themselves, and submits that same token cross-site."""
    attacker = Client(https_app)
    await attacker.get("/healthz")
    (token,) = (value for name, value in attacker.cookies.items() if name.endswith("csrftoken"))
    await attacker.aclose()
    transport = httpx.ASGITransport(app=https_app, client=("127.60.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as victim:
        victim.cookies.set("csrftoken", token, domain="afterglow.example")
        response = await victim.post(
            "/api/v1/auth/register",
            json={
                "email": unique_email(),
                "password": PASSWORD,
                "display_name": "Victim",
                "timezone": "UTC",
            },
            headers={"x-csrf-token": token},
        )
    assert response.status_code == 403, response.text


async def test_over_plain_http_the_cookie_keeps_its_name(client_factory: Any) -> None:
    cookies = _set_cookies(await client_factory().get("/healthz"))
    assert list(cookies) == ["csrftoken"]


async def test_the_openapi_document_is_served_only_when_switched_on(
    settings: Settings, client_factory: Any
) -> None:
    assert (await client_factory().get("/schema/openapi.json")).status_code == 200
    closed = msgspec.structs.replace(settings, openapi=False)
    async with running(create_app(closed)) as app:
        client = Client(app)
        try:
            for path in ("/schema/openapi.json", "/schema", "/schema/swagger"):
                response = await client.get(path)
                assert response.status_code == 404, path
        finally:
            await client.aclose()
