"""Browser tests: the real app in a subprocess, driven through Debian's Chromium by Playwright.

One server and one browser for the whole session; a fresh browser context (a new phone, as far
as the app can tell) for every test. Playwright never downloads a browser: /usr/bin/chromium is
installed by scripts/install-browser.sh.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.helpers.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CLINIC_PHONE,
    PHONE,
    SCREENSHOTS,
    ZONE,
    Db,
)
from tests.helpers.live_server import LiveServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(pytest.mark.skip(reason="run scripts/install-browser.sh first"))


@pytest.fixture(scope="session")
def live(database_url: str, data_dir: Path) -> Iterator[LiveServer]:
    """`python -m server serve` on a free port, against this run's fresh database."""
    with LiveServer(database_url, data_dir, env={"AFTERGLOW_CLINIC_PHONE": CLINIC_PHONE}) as server:
        yield server


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def context(browser: Browser, live: LiveServer) -> AsyncIterator[BrowserContext]:
    """A new phone: its own cookies, IndexedDB, caches and service worker."""
    ctx = await browser.new_context(
        base_url=live.url,
        viewport=PHONE,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale="en-US",
        timezone_id=ZONE,
        service_workers="allow",
    )
    ctx.set_default_timeout(15_000)
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


@pytest.fixture(scope="session")
def db(database_url: str) -> Db:
    return Db(database_url)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
