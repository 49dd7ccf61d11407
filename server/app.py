"""create_app(settings): the one place things are wired."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

from server import db
from server.api.auth import AuthController, MeController
from server.api.health import healthz, readyz
from server.config import Settings
from server.problems import handle_exception
from server.security import csrf_config, request_id_middleware, security_headers

log = logging.getLogger("afterglow")

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
MAX_BODY_BYTES = 256 * 1024


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        url = await db.database_url(settings)
        app.state.database_url = url
        if settings.migrate_on_start:
            conn = await _connect(url)
            try:
                await db.migrate(conn)
            finally:
                await conn.close()
        pool = await db.create_pool(url, settings)
        app.state.pool = pool
        background: list[asyncio.Task[None]] = []
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await pool.close()

    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        cache_control=None,
        include_in_schema=False,
        name="static",
    )
    app = Litestar(
        route_handlers=[healthz, readyz, AuthController, MeController, static],
        lifespan=[lifespan],
        dependencies={
            "pool": Provide(_provide_pool, sync_to_thread=False),
            "settings": Provide(_provide_settings, sync_to_thread=False),
        },
        exception_handlers={Exception: handle_exception},
        csrf_config=csrf_config(settings),
        middleware=[request_id_middleware],
        before_send=[security_headers(settings)],
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(title="Afterglow", version="1", path="/schema"),
        debug=False,
        logging_config=None,
    )
    app.state.settings = settings
    return app


def _provide_pool(state: State) -> db.Pool:
    pool: db.Pool = state.pool
    return pool


def _provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


async def _connect(url: str) -> db.Connection:
    return await asyncpg.connect(url, timeout=10)
