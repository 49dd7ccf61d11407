"""The database goes away and comes back: 503 quickly while it is down, then recovery, with no
restart of the app. Runs on an embedded PostgreSQL the test owns, never a shared server."""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.config import Settings
from tests.helpers.accounts import register
from tests.helpers.client import Client
from tests.helpers.database import start_postgres, stop_postgres

pytestmark = pytest.mark.slow


async def test_requests_fail_fast_with_503_and_recover(
    tmp_path: Path, embedded_postgres: Any
) -> None:
    settings = Settings(
        env="test",
        database_url=embedded_postgres.get_uri(),
        data_dir=tmp_path,
        secret_key=secrets.token_urlsafe(32),
        db_timeout=2.0,
    )
    app = create_app(settings)
    async with app.lifespan():
        client = Client(app)
        await register(client)
        assert (await client.get("/api/v1/me")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200

        await stop_postgres(embedded_postgres)
        for path in ("/api/v1/me", "/readyz"):
            started = time.monotonic()
            response = await client.get(path)
            assert time.monotonic() - started < 5
            assert response.status_code == 503, response.text
        down = await client.get("/api/v1/me")
        assert down.headers["content-type"].startswith("application/problem+json")
        assert "retry-after" in down.headers
        assert (await client.get("/healthz")).status_code == 200  # the process is up

        await start_postgres(embedded_postgres)
        deadline = time.monotonic() + 20
        status: Any = None
        while time.monotonic() < deadline:
            status = (await client.get("/api/v1/me")).status_code
            if status == 200:
                break
            await asyncio.sleep(0.2)
        assert status == 200
        assert (await client.get("/readyz")).status_code == 200
        await client.aclose()
