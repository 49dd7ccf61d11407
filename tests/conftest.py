"""Shared fixtures: a real PostgreSQL database per test run, the app in the test's event loop,
and clients that sign in and send the CSRF header the way the web app does.

The database: ``AFTERGLOW_TEST_DATABASE_URL`` if set, else the server on 127.0.0.1:5432 if one
answers, else an embedded PostgreSQL (pgserver) in a temporary folder. A fresh database is
created for the run and dropped after it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from server import db, security
from server.app import create_app
from server.config import Settings
from server.store import users as user_store

PASSWORD = "correct horse battery"
LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def _server_url() -> str:
    explicit = os.environ.get("AFTERGLOW_TEST_DATABASE_URL")
    if explicit:
        return explicit

    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(LOCAL_SERVER, timeout=2)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await conn.close()
        return True

    if asyncio.run(probe()):
        return LOCAL_SERVER
    return db.start_embedded(Path(tempfile.mkdtemp(prefix="afterglow-pg-")))


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(scope="session")
def server_url() -> str:
    return _server_url()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    name = f"afterglow_test_{secrets.token_hex(4)}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield _with_database(server_url, name)
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        data_dir=data_dir,
        secret_key=secrets.token_urlsafe(32),
        worker=False,
        clinic_phone="+1 555 0100",
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    application = create_app(settings)
    # The lifespan's task group must be entered and left by one task, while fixtures are torn
    # down from another: run it in a task of its own.
    started, stop = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        async with application.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(run())
    await asyncio.wait(
        [task, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED
    )
    if task.done():
        task.result()
    yield application
    stop.set()
    await task


@pytest.fixture(scope="session")
async def pool(app: Litestar, settings: Settings) -> AsyncIterator[db.Pool]:
    """A pool for the tests themselves, to check what was stored: unlike the app's, it works as
    the database owner, so row-level security does not narrow what a test sees."""
    assert settings.database_url
    test_pool = await db.create_pool(settings.database_url, settings, app_role=False)
    yield test_pool
    await test_pool.close()


class Client(httpx.AsyncClient):
    """An httpx client speaking to the app in-process, sending the CSRF header like the PWA.

    Each client gets its own made-up source address, so per-address login throttling in one
    test does not spill into another.
    """

    def __init__(self, app: Litestar, address: str | None = None) -> None:
        address = (
            address
            or f"127.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
        )
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        super().__init__(transport=transport, base_url="http://127.0.0.1:8000")
        self.address = address
        self.csrf = True

    async def request(self, method: str, url: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        if method.upper() not in ("GET", "HEAD", "OPTIONS"):
            if security.CSRF_COOKIE not in self.cookies:
                await super().request("GET", "/healthz")
            if self.csrf:
                headers = dict(kwargs.pop("headers", None) or {})
                headers.setdefault(security.CSRF_HEADER, self.cookies[security.CSRF_COOKIE])
                kwargs["headers"] = headers
        return await super().request(method, url, **kwargs)


def unique_email(prefix: str = "patient") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.org"


@pytest.fixture
def client_factory(app: Litestar) -> Iterator[Any]:
    made: list[Client] = []

    def make(address: str | None = None) -> Client:
        client = Client(app, address)
        made.append(client)
        return client

    yield make


async def register(
    client: Client,
    *,
    email: str | None = None,
    timezone: str = "America/New_York",
    display_name: str = "Test Patient",
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/auth/register",
        json={
            "email": email or unique_email(),
            "password": PASSWORD,
            "display_name": display_name,
            "timezone": timezone,
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def patient(client_factory: Any) -> Client:
    """A signed-in patient (America/New_York). ``patient.me`` holds their account."""
    client = client_factory()
    client.me = await register(client)  # type: ignore[attr-defined]
    return client  # type: ignore[no-any-return]


async def make_clinician(pool: db.Pool, client: Client, name: str = "Dr. Test") -> dict[str, Any]:
    email = unique_email("clinician")
    password_hash = await security.hash_password(PASSWORD)
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


@pytest.fixture
async def clinician(client_factory: Any, pool: db.Pool) -> Client:
    """A signed-in clinician. ``clinician.me`` holds their account."""
    client = client_factory()
    client.me = await make_clinician(pool, client)  # type: ignore[attr-defined]
    return client  # type: ignore[no-any-return]


@pytest.fixture
async def embedded_postgres() -> AsyncIterator[Any]:
    """A PostgreSQL of the test's own (pgserver) that it may stop and start at will.

    Its folder is outside pytest's temporary tree: pytest keeps that tree private to root
    (0700), while pgserver, started as root, runs PostgreSQL as an unprivileged user.
    """
    import shutil

    import pgserver

    folder = Path(tempfile.mkdtemp(prefix="afterglow-owned-pg-"))
    server = await asyncio.to_thread(pgserver.get_server, str(folder / "pg"), cleanup_mode="stop")
    try:
        yield server
    finally:
        await asyncio.to_thread(server.cleanup)
        shutil.rmtree(folder, ignore_errors=True)


async def stop_postgres(server: Any) -> None:
    from pgserver._commands import pg_ctl

    await asyncio.to_thread(
        pg_ctl, ["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user
    )


async def start_postgres(server: Any) -> None:
    await asyncio.to_thread(server.ensure_postgres_running)
