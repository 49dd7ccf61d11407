"""Reflow and large text (WCAG 2.2 1.4.10, 1.4.4): at 320 CSS px wide, and at 200% text (the
browser's own text size doubled), no patient page scrolls sideways and "Need help now" is
whole on the screen; the mood buttons stay big enough to tap."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.helpers.browser import ZONE, reflow, seed_history, sign_up, text_size
from tests.helpers.live_server import LiveServer

SIGNED_OUT = ("/login", "/signup", "/forgot", "/reset", "/crisis")
SIGNED_IN = (
    "/",
    "/history",
    "/infusions",
    "/settings",
    "/sharing",
    "/assess/phq9",
    "/assess/gad7",
    "/crisis",
    "/welcome",
)
NORMAL, DOUBLE = 16, 32  # px: the browser's default text size, and 200%


async def phone(browser: Browser, live: LiveServer, width: int) -> BrowserContext:
    return await browser.new_context(
        base_url=live.url,
        viewport={"width": width, "height": 640},
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale="en-US",
        timezone_id=ZONE,
        service_workers="allow",
    )


async def misfits(page: Page, paths: tuple[str, ...], width: int) -> list[str]:
    found = []
    for path in paths:
        await page.goto(path)
        await page.wait_for_load_state("networkidle")
        seen = await reflow(page, width)
        left, right, _ = seen["help"]
        if seen["scrollWidth"] > width or left < 0 or right > width:
            found.append(f"{path}: {seen}")
    return found


@pytest.mark.parametrize(
    ("width", "text"), [(320, NORMAL), (390, DOUBLE), (320, DOUBLE)], ids=["320px", "200%", "both"]
)
async def test_no_page_scrolls_sideways_and_help_is_always_whole(
    browser: Browser, live: LiveServer, screenshots: Path, width: int, text: int
) -> None:
    context = await phone(browser, live, width)
    try:
        page = await context.new_page()
        await text_size(page, text)
        bad = await misfits(page, SIGNED_OUT, width)
        await sign_up(context)
        await seed_history(context)
        bad += await misfits(page, SIGNED_IN, width)
        assert not bad, "\n".join(bad)
        if (width, text) == (320, DOUBLE):
            for path, name in (("/", "today-200-text"), ("/history", "history-200-text")):
                await page.goto(path)
                await page.wait_for_load_state("networkidle")
                await page.screenshot(path=str(screenshots / f"{name}.png"))
    finally:
        await context.close()


async def test_mood_buttons_stay_tappable_at_200_percent_text(
    browser: Browser, live: LiveServer
) -> None:
    context = await phone(browser, live, 320)
    try:
        page = await context.new_page()
        await text_size(page, DOUBLE)
        await sign_up(context)
        await page.goto("/")
        await page.wait_for_load_state("networkidle")
        boxes = [await b.bounding_box() for b in await page.locator(".mood-option").all()]
        assert len(boxes) == 11
        for n, box in enumerate(boxes):
            assert box and box["width"] >= 44 and box["height"] >= 44, (n, box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= 320, (n, box)
        # Every number whole: none squashed so that its label is cut.
        clipped = await page.evaluate(
            """[...document.querySelectorAll(".mood-option > span")]
                 .filter((s) => s.scrollWidth > s.clientWidth).length"""
        )
        assert clipped == 0
        await page.get_by_role("radio", name="7", exact=True).tap()
        await page.get_by_role("button", name="Save check-in").tap()
        await page.locator("#save-status", has_text="Saved and synced").wait_for()
    finally:
        await context.close()
