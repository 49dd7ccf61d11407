"""Every patient page: no serious or critical axe-core violations at 390 px, light and dark, and a
390×844 screenshot for the README (docs/screenshots/)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page

from tests.helpers.browser import open_app, seed_history, sign_up
from tests.helpers.live_server import LiveServer

AXE = Axe()
SIGNED_OUT = (
    ("/login", "sign-in"),
    ("/signup", "sign-up"),
    ("/forgot", "forgot"),
    ("/reset", None),
)
SIGNED_IN = (
    ("/welcome", "first-run"),
    ("/", "today-done"),
    ("/infusions", None),
    ("/assess/phq9", None),
    ("/assess/gad7", "gad7"),
    ("/history", "history"),
    ("/history?days=90", "history-90"),
    ("/settings", "settings"),
    ("/sharing", "sharing"),
    ("/crisis", "crisis"),
    ("/offline", "offline"),
)
# Dark mode: every page checked, these pictured.
DARK_SHOTS = {"today-done": "today-dark", "history": "history-dark", "crisis": "crisis-dark"}


async def check(page: Page, name: str, screenshots: Path | None) -> None:
    # Let the page scripts render from IndexedDB before looking.
    await page.wait_for_load_state("networkidle")
    results = await AXE.run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: {bad}"
    if screenshots is not None:
        await page.screenshot(path=str(screenshots / f"{name}.png"))


async def test_every_page_is_accessible(
    context: BrowserContext, page: Page, screenshots: Path
) -> None:
    for path, name in SIGNED_OUT:
        await page.goto(path)
        await check(page, name or path, screenshots if name else None)
    await page.emulate_media(color_scheme="dark")
    for path, _ in SIGNED_OUT:
        await page.goto(path)
        await check(page, f"{path} (dark)", None)
    await page.emulate_media(color_scheme="light")

    await sign_up(context, name="Sam")
    await seed_history(context)
    await page.goto("/welcome")
    await check(page, "first-run", screenshots)

    await open_app(page, "/")
    for mood in ("4", "6", "7"):
        another = page.get_by_role("button", name="Add another check-in")
        if await another.is_visible():
            await another.click()
        await page.locator(".mood-option", has_text=mood).first.click()
        await page.get_by_role("button", name="Save check-in").click()
        await page.get_by_text("Saved and synced").wait_for()
    await check(page, "today-done", screenshots)
    await page.get_by_role("button", name="Add another check-in").click()
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

    await page.goto("/sharing")
    await page.get_by_role("button", name="Make a share code").click()
    await page.get_by_role("heading", name="Your code").wait_for()
    await check(page, "sharing-code", screenshots)

    for path, name in SIGNED_IN:
        await page.goto(path)
        await check(page, name or path, screenshots if name else None)
    await page.goto("/settings")
    await page.get_by_role("button", name="Delete my account").click()
    await check(page, "delete-account", screenshots)

    # Dark mode keeps AA contrast too, on every page.
    await page.emulate_media(color_scheme="dark", reduced_motion="reduce")
    for path, name in SIGNED_IN:
        await page.goto(path)
        dark = DARK_SHOTS.get(name or "")
        await check(page, dark or f"{path} (dark)", screenshots if dark else None)
    await page.goto("/sharing")
    await page.get_by_role("button", name="Make a share code").click()
    await check(page, "sharing-code (dark)", None)


async def test_the_sign_in_page_is_one_page_for_patients_and_clinicians(
    browser: Browser, live: LiveServer, screenshots: Path
) -> None:
    """Neutral words for both (a clinician signs in here too), and on a desktop the top bar
    lines up with the page's column instead of an empty strip across the screen."""
    ctx = await browser.new_context(
        base_url=live.url, viewport={"width": 1280, "height": 900}, device_scale_factor=1
    )
    try:
        page = await ctx.new_page()
        await page.goto("/login")
        text = await page.locator("main").inner_text()
        assert "log how you are doing" not in text
        assert "clinician" in text.lower()
        brand = await page.locator(".topbar .brand").bounding_box()
        help_now = await page.locator(".topbar .help-now").bounding_box()
        column = await page.locator("main .auth").bounding_box()
        assert brand and help_now and column
        assert abs(brand["x"] - column["x"]) <= 1, (brand, column)
        assert abs(help_now["x"] + help_now["width"] - column["x"] - column["width"]) <= 1
        await check(page, "sign-in-desktop", screenshots)
        await page.emulate_media(color_scheme="dark")
        await check(page, "/login at 1280 px (dark)", None)
    finally:
        await ctx.close()
