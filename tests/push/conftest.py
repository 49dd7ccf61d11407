"""Fixtures for push tests: the local push service, users made straight in the database (no
argon2 per user), devices, and dispatchers on a fixed clock.

Reminder tests run at fixed moments in the past (2025), so rows other tests leave pending at
today's times are never due for them; every user made here is deleted afterwards, and with it
every row of theirs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from litestar import Litestar

from server import db
from server.config import Settings
from server.push.dispatcher import Dispatcher
from server.push.outbound import push_session
from server.push.vapid import VapidKeys
from tests.helpers.push import Clock, People
from tests.helpers.push_service import PushService


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    async with PushService() as service:
        yield service


@pytest.fixture
def vapid(app: Litestar) -> VapidKeys:
    keys: VapidKeys = app.state.vapid
    return keys


@pytest.fixture
async def http_session(settings: Settings) -> AsyncIterator[aiohttp.ClientSession]:
    """The worker's own session: it connects only to the push services the settings list."""
    async with push_session(settings) as session:
        yield session


@pytest.fixture
async def people(pool: db.Pool) -> AsyncIterator[People]:
    found = People(pool)
    yield found
    await found.cleanup()


@pytest.fixture
def make_dispatcher(
    pool: db.Pool, vapid: VapidKeys, http_session: aiohttp.ClientSession
) -> Callable[..., Dispatcher]:
    def make(clock: Clock, **options: Any) -> Dispatcher:
        options.setdefault("jitter", lambda: 0.0)
        return Dispatcher(pool, vapid, http_session, clock=clock, **options)

    return make
