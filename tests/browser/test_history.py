"""History: the server-drawn mood chart with infusion markers, the PHQ-9 trend, and the
patient's entries to change or delete."""

from __future__ import annotations

import uuid

from playwright.async_api import BrowserContext, Page, expect

from tests.helpers.browser import Db, eventually, open_app, seed_history, sign_up


async def test_history_charts_and_editing_entries(
    context: BrowserContext, page: Page, db: Db
) -> None:
    me = await sign_up(context)
    patient = uuid.UUID(me["id"])
    await seed_history(context)
    await open_app(page, "/history")

    chart = page.get_by_role("img", name="Daily mood chart")
    await expect(chart).to_be_visible()
    await expect(chart.locator("circle.point")).to_have_count(29)
    await expect(chart.locator(".infusion-marker")).to_have_count(3)
    await expect(chart.locator("desc")).to_contain_text("3 infusions")
    phq9 = page.get_by_role("img", name="PHQ-9 totals over time (lower is better)")
    await expect(phq9.locator("circle.point")).to_have_count(2)  # the baseline is older
    await expect(page.locator(".change")).to_contain_text("lower than before your first infusion")
    await page.get_by_role("link", name="90 days").click()
    await expect(page.get_by_role("heading", name="Mood, last 90 days")).to_be_visible()
    await expect(
        page.get_by_role("img", name="PHQ-9 totals over time (lower is better)").locator(
            "circle.point"
        )
    ).to_have_count(3)

    # The entries came down to this phone with the first sync; change the newest one.
    entries = page.locator("#history-entries > li")
    await expect(entries).to_have_count(29 + 3)
    newest = await db.fetchrow(
        "SELECT id, mood FROM checkins WHERE patient_id = $1 ORDER BY recorded_at DESC LIMIT 1",
        patient,
    )
    await entries.first.get_by_role("link", name="Edit").click()
    await page.wait_for_url(f"**/?edit={newest['id']}")
    await expect(page.locator("input[name=mood]:checked")).to_have_value(str(newest["mood"]))
    new_mood = (newest["mood"] + 3) % 9 + 1
    await page.get_by_role("radio", name=str(new_mood), exact=True).tap()
    await page.get_by_role("button", name="Save changes").tap()
    await expect(page.locator("#save-status")).to_have_text("Saved and synced")
    assert await db.fetchval("SELECT mood FROM checkins WHERE id = $1", newest["id"]) == new_mood

    await page.goto("/history")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.locator("#history-entries > li").first.get_by_role("button", name="Delete").click()
    await eventually(page, "self.Afterglow.pendingCount().then((n) => n === 0)")
    await expect(page.locator("#history-entries > li")).to_have_count(29 + 3 - 1)
    assert await db.fetchval("SELECT deleted FROM checkins WHERE id = $1", newest["id"]) is True
