"""Sharing in the browser: making a code is a redirect-after-post, so reloading the page that
shows the code makes no second one."""

from __future__ import annotations

import uuid

from playwright.async_api import BrowserContext, Page, expect

from tests.helpers.browser import Db, sign_up


async def test_reloading_after_making_a_code_makes_no_second_code(
    context: BrowserContext, page: Page, db: Db
) -> None:
    me = await sign_up(context)
    patient = uuid.UUID(me["id"])
    await page.goto("/sharing")
    await page.get_by_role("button", name="Make a share code").click()
    code = page.get_by_role("region", name="Your code")
    await expect(code).to_contain_text("It works once")

    await page.reload()
    await expect(page.get_by_role("heading", name="Who can see your log")).to_be_visible()
    assert await db.fetchval("SELECT count(*) FROM shares WHERE patient_id = $1", patient) == 1
    await expect(code).to_have_count(0)  # shown once: it is kept nowhere
    await expect(page.get_by_text("Codes not used yet")).to_be_visible()
    assert page.url.endswith("/sharing")
