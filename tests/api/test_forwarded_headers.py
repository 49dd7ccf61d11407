"""X-Forwarded-For is believed only from the proxies listed in AFTERGLOW_FORWARDED_ALLOW_IPS.

An outsider talking to the real server (`python -m server serve`, here from 127.0.0.1) sends
a header of their own: it must neither reset the per-address sign-in limit nor put a made-up
address (or 3,000 characters of anything) into the patient's access log. A listed proxy's
header is believed, for the right-most address it did not add itself, and only if that is an IP.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import msgspec
import pytest
from litestar import Litestar

from server.app import create_app
from server.config import Settings
from tests.helpers.accounts import PASSWORD, register, unique_email
from tests.helpers.app import running
from tests.helpers.client import Client
from tests.helpers.database import with_database
from tests.helpers.live_server import LiveServer, signed_in_patient

PEER = "127.0.0.1"  # where the tests' own connections to a live server come from


@pytest.fixture(scope="module")
async def own_database(server_url: str) -> AsyncIterator[str]:
    """A database for these servers alone: the limits their clients reach on 127.0.0.1 never
    block another suite's sign-ins from the same address."""
    name = f"afterglow_forwarded_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="module")
def live(own_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The server as deployed with no proxy in front (the default: no one is trusted)."""
    with LiveServer(own_database, tmp_path_factory.mktemp("direct")) as server:
        yield server


@pytest.fixture(scope="module")
def proxied(own_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The server behind a reverse proxy on the same machine."""
    env = {"AFTERGLOW_FORWARDED_ALLOW_IPS": f"{PEER}, ::1"}
    with LiveServer(own_database, tmp_path_factory.mktemp("proxied"), env=env) as server:
        yield server


@pytest.fixture
async def clean_slate(own_database: str) -> None:
    """No failed sign-ins or sign-ups counted yet: each test starts below every limit."""
    conn = await asyncpg.connect(own_database)
    try:
        await conn.execute("DELETE FROM login_failures")
        await conn.execute("DELETE FROM sign_in_attempts")
    finally:
        await conn.close()


async def _sign_in(client: httpx.AsyncClient, email: str, forwarded_for: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"X-Forwarded-For": forwarded_for},
    )


async def _sign_in_addresses(client: httpx.AsyncClient) -> list[str]:
    log = (await client.get("/api/v1/me/access-log")).json()
    return [entry["address"] for entry in log["items"] if entry["action"] == "sign_in"]


async def test_a_rotating_forwarded_for_does_not_reset_the_address_limit(
    live: LiveServer, clean_slate: None
) -> None:
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as attacker:
        await attacker.get("/healthz")
        attacker.headers["X-CSRF-Token"] = attacker.cookies["csrftoken"]
        # A new account each time (5 failures lock an account), a new made-up address each time.
        for attempt in range(20):
            response = await _sign_in(attacker, unique_email(), f"198.51.100.{attempt + 1}")
            assert response.status_code == 401, response.text
        blocked = await _sign_in(attacker, unique_email(), "198.51.100.250")
        assert blocked.status_code == 429, blocked.text
        assert int(blocked.headers["retry-after"]) > 0


async def test_the_access_log_shows_the_real_peer_never_the_header(
    live: LiveServer, clean_slate: None
) -> None:
    email = unique_email()
    patient = await signed_in_patient(live.url, email, PASSWORD)
    try:
        for forged in ("8.8.8.8", "x" * 3000, "8.8.8.8, 9.9.9.9"):
            response = await _sign_in(patient, email, forged)
            assert response.status_code == 200, response.text
        addresses = await _sign_in_addresses(patient)
    finally:
        await patient.aclose()
    assert addresses == [PEER] * 3


async def test_a_listed_proxy_is_believed_for_a_valid_address_only(
    proxied: LiveServer, clean_slate: None
) -> None:
    email = unique_email()
    patient = await signed_in_patient(proxied.url, email, PASSWORD)
    sent = (
        "203.0.113.9",  # the client, as the proxy saw it
        "8.8.8.8, 203.0.113.10",  # the client's own claim, then what the proxy saw: the latter
        "203.0.113.11, 127.0.0.1",  # through two proxies of ours: the first untrusted hop
        "8.8.8.8,2001:DB8::1",  # written loosely: stored in its one canonical form
        "8.8.8.8, not-an-address",  # no valid address where the client is: the proxy itself
        "y" * 3000,
    )
    try:
        for forwarded_for in sent:
            response = await _sign_in(patient, email, forwarded_for)
            assert response.status_code == 200, response.text
        addresses = await _sign_in_addresses(patient)
    finally:
        await patient.aclose()
    assert addresses == [  # newest first
        PEER,
        PEER,
        "2001:db8::1",
        "203.0.113.11",
        "203.0.113.10",
        "203.0.113.9",
    ]


# --- the same rule in the test's own process (httpx's ASGITransport) -------------------------


@pytest.fixture(scope="module")
async def behind_proxy(settings: Settings) -> AsyncIterator[Litestar]:
    trusted = ("127.50.0.0/16", "fd00::/8")
    proxied_settings = msgspec.structs.replace(settings, forwarded_allow_ips=trusted)
    async with running(create_app(proxied_settings)) as app:
        yield app


async def test_the_in_process_app_honours_the_same_rule(behind_proxy: Litestar) -> None:
    proxy = Client(behind_proxy, "127.50.0.1")
    outsider = Client(behind_proxy, "127.51.0.1")
    try:
        email = unique_email()
        await register(proxy, email=email)
        await _sign_in(proxy, email, "192.0.2.1, 127.50.0.9")
        await _sign_in(outsider, email, "192.0.2.2")
        addresses = await _sign_in_addresses(proxy)
    finally:
        await asyncio.gather(proxy.aclose(), outsider.aclose())
    assert addresses == ["127.51.0.1", "192.0.2.1"]
