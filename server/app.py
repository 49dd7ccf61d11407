"""create_app(settings): the one place things are wired."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from litestar import Litestar, Request
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

from server import db
from server.api import api_routes
from server.config import Settings
from server.inbound import InboundRequest, refuse_nul_in_query
from server.problems import document_problems, handle_exception
from server.push import worker as reminder_worker
from server.push.vapid import load_vapid_keys
from server.pwa import pwa_router, template_config
from server.security import (
    authentication_middleware,
    compression_config,
    csrf_config,
    forwarded_for_middleware,
    request_id_middleware,
    security_headers,
)
from server.services import mail, passwords
from server.web import json_bodies_only, provide_user

log = logging.getLogger("afterglow")

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
MAX_BODY_BYTES = 256 * 1024


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    passwords.configure(settings.env)
    vapid = load_vapid_keys(settings)  # a missing key in production stops start-up here
    mail.check_mail_settings(settings)  # ... and production without an SMTP server
    db.app_database_url(settings, settings.database_url or "")  # ... and so does the app role's
    db.require_database(settings)  # ... and having no database to use

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
        # Requests log in as afterglow_app, bound by row-level security; the worker's
        # cross-patient work runs on connections of its own, as the tables' owner.
        pool = await db.create_pool(db.app_database_url(settings, url), settings)
        app.state.pool = pool
        pools = [pool]
        background: list[asyncio.Task[None]] = []
        if settings.worker:
            pools.append(await db.create_pool(url, settings, max_size=4))
            background.append(
                asyncio.create_task(
                    reminder_worker.run(pools[-1], settings, vapid), name="reminders"
                )
            )
        # Start-up leaves ~100k long-lived objects; moving them out of the collector's view
        # stops full collections from re-scanning them every few requests (~20 ms each).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            for each in pools:
                await each.close()
            await db.release_database(settings)  # the last user stops an embedded PostgreSQL

    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        # No patient data in static files: cacheable, revalidated so a deploy is seen at once.
        cache_control=CacheControlHeader(no_cache=True),
        include_in_schema=False,
        name="static",
    )
    app = Litestar(
        route_handlers=[*api_routes(), pwa_router(), static],
        lifespan=[lifespan],
        dependencies={
            "pool": Provide(_provide_pool, sync_to_thread=False),
            "settings": Provide(_provide_settings, sync_to_thread=False),
            "user": Provide(provide_user, sync_to_thread=False),
        },
        exception_handlers={Exception: handle_exception},
        # Bodies decoded strictly into the handler's types, NUL refused (server/inbound.py).
        request_class=InboundRequest,
        csrf_config=csrf_config(settings),
        compression_config=compression_config(),
        # Outermost first: who is asking, one connection per request, then who is signed in.
        middleware=[
            forwarded_for_middleware(settings),
            request_id_middleware,
            authentication_middleware,
        ],
        before_request=_check_what_is_sent,
        before_send=[security_headers(settings)],
        request_max_body_size=MAX_BODY_BYTES,
        template_config=template_config(),
        openapi_config=(
            OpenAPIConfig(title="Afterglow", version="1", path="/schema")
            if settings.openapi
            else None
        ),
        debug=False,
        logging_config=None,
    )
    app.state.settings = settings
    app.state.vapid = vapid
    app.state.vapid_public_key = vapid.public_key
    if settings.openapi:
        document_problems(app.openapi_schema)
    return app


async def _check_what_is_sent(request: Request[Any, Any, Any]) -> None:
    """Before any handler: JSON bodies only as JSON, and no NUL in a query string."""
    json_bodies_only(request)
    refuse_nul_in_query(request)


def _provide_pool(state: State) -> db.Pool:
    pool: db.Pool = state.pool
    return pool


def _provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


async def _connect(url: str) -> db.Connection:
    return await asyncpg.connect(url, timeout=10)
