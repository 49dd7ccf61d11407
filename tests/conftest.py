"""Shared fixtures: a real PostgreSQL database per test run, the app in the test's event loop,
and clients that sign in and send the CSRF header the way the web app does.

The database: ``AFTERGLOW_TEST_DATABASE_URL`` if set, else the server on 127.0.0.1:5432 if one
answers, else an embedded PostgreSQL (pgserver) in a temporary folder. A fresh database is
created for the run and dropped after it.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from server import db
from server.app import create_app
from server.config import Settings
from server.services import passwords
from tests.helpers.accounts import make_clinician, register
from tests.helpers.app import running
from tests.helpers.client import Client
from tests.helpers.database import create_owned_database, drop_owned_database
from tests.helpers.database import server_url as find_server_url
from tests.helpers.mail_server import MailServer, assert_neutral
from tests.helpers.push_service import push_services


@pytest.fixture(autouse=True)
def cheap_password_hashing() -> None:
    """Accounts made in the test process hash at the test cost, whatever a test before this
    one configured (a command run in-process as `dev` or `production` sets the real cost)."""
    passwords.configure("test")


@pytest.fixture(scope="session")
def server_url() -> str:
    return find_server_url()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """The owner's URL of the run's database. The owner is no superuser, so row-level security
    binds it as in production; the app derives its own login (afterglow_app) from this URL."""
    name = f"afterglow_test_{secrets.token_hex(4)}"
    yield asyncio.run(create_owned_database(server_url, name))
    asyncio.run(drop_owned_database(server_url, name))


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
        push_services=tuple(push_services().split(",")),
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    async with running(create_app(settings)) as application:
        yield application


@pytest.fixture(scope="session")
async def pool(app: Litestar, settings: Settings) -> AsyncIterator[db.Pool]:
    """A pool for the tests themselves, to check what was stored: unlike the app's, it works as
    the database owner, whose row-level security policy sees every row."""
    assert settings.database_url
    test_pool = await db.create_pool(settings.database_url, settings)
    yield test_pool
    await test_pool.close()


@pytest.fixture
def client_factory(app: Litestar) -> Iterator[Any]:
    made: list[Client] = []

    def make(address: str | None = None) -> Client:
        client = Client(app, address)
        made.append(client)
        return client

    yield make


@pytest.fixture
async def patient(client_factory: Any) -> Client:
    """A signed-in patient (America/New_York). ``patient.me`` holds their account."""
    client = client_factory()
    client.me = await register(client)  # type: ignore[attr-defined]
    return client  # type: ignore[no-any-return]


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
    import pgserver

    folder = Path(tempfile.mkdtemp(prefix="afterglow-owned-pg-"))
    server = await asyncio.to_thread(pgserver.get_server, str(folder / "pg"), cleanup_mode="stop")
    try:
        yield server
    finally:
        await asyncio.to_thread(server.cleanup)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def mail_server() -> Iterator[MailServer]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it accepts. Whatever any test
    had sent to it is checked at the end: no email may say anything about health."""
    with MailServer.running() as server:
        yield server
        for message in server.messages:
            assert_neutral(message)
