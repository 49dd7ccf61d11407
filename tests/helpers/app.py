"""Running an app's lifespan from a fixture."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar


@asynccontextmanager
async def running(application: Litestar) -> AsyncIterator[Litestar]:
    """The app with its lifespan entered. The lifespan's task group must be entered and left by
    one task, while fixtures are torn down from another: it runs in a task of its own."""
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
    try:
        yield application
    finally:
        stop.set()
        await task
