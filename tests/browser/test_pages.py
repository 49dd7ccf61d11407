"""Every page: no serious or critical axe-core violations, and a 390×844 screenshot for the
README (docs/screenshots/)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import BrowserContext, Page

from tests.helpers.browser import open_app, seed_history, sign_up

AXE = Axe()


async def check(page: Page, name: str, screenshots: Path) -> None:
    # Let the page scripts render from IndexedDB before looking.
    await page.wait_for_load_state("networkidle")
    results = await AXE.run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: {bad}"
    await page.screenshot(path=str(screenshots / f"{name}.png"))


async def test_every_page_is_accessible(
    context: BrowserContext, page: Page, screenshots: Path
) -> None:
    for path, name in (("/login", "sign-in"), ("/signup", "sign-up"), ("/crisis", "crisis")):
        await page.goto(path)
        await check(page, name, screenshots)

    await sign_up(context, name="Sam")
    await seed_history(context)
    await page.goto("/welcome")
    await check(page, "first-run", screenshots)

    await open_app(page, "/")
    for mood in ("4", "6", "7"):
        await page.locator(".mood-option", has_text=mood).first.click()
        await page.get_by_role("button", name="Save check-in").click()
        await page.get_by_text("Saved and synced").wait_for()
    await page.get_by_text("Nausea", exact=True).click()
    await page.locator(".mood-option", has_text="5").first.click()
    await check(page, "today", screenshots)

    await page.goto("/infusions")
    await page.get_by_label("Date").fill((date.today() + timedelta(days=9)).isoformat())
    await page.get_by_role("button", name="Add session").click()
    await page.get_by_text("Session added and synced").wait_for()
    await check(page, "infusions", screenshots)

    await page.goto("/assess/phq9")
    await page.get_by_role("radio", name="Several days").click()
    await check(page, "phq9", screenshots)
    await page.goto("/assess/gad7")
    await check(page, "gad7", screenshots)

    await page.goto("/history")
    await check(page, "history", screenshots)
    await page.goto("/history?days=90")
    await check(page, "history-90", screenshots)

    await page.goto("/settings")
    await check(page, "settings", screenshots)
    await page.get_by_role("button", name="Delete my account").click()
    await check(page, "delete-account", screenshots)

    await page.goto("/offline")
    await check(page, "offline", screenshots)

    # Dark mode keeps AA contrast too.
    await page.emulate_media(color_scheme="dark", reduced_motion="reduce")
    for path, name in (
        ("/", "today-dark"),
        ("/history", "history-dark"),
        ("/crisis", "crisis-dark"),
    ):
        await page.goto(path)
        await check(page, name, screenshots)
