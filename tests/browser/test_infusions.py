"""Infusions: add a session, move it, cancel it; each change reaches the database. The form
starts on today and fits its card."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import BrowserContext, Page, expect

from tests.helpers.browser import ZONE, Db, open_app, sign_up


async def test_add_move_and_cancel_a_session(context: BrowserContext, page: Page, db: Db) -> None:
    me = await sign_up(context)
    patient = uuid.UUID(me["id"])
    day = date.today() + timedelta(days=10)
    await open_app(page, "/infusions")
    await page.get_by_label("Date").fill(day.isoformat())
    await page.get_by_label("Time").fill("09:30")
    await page.get_by_label("Length in minutes").fill("45")
    await page.get_by_role("button", name="Add session").click()
    await expect(page.locator("#infusion-status")).to_have_text("Session added and synced")
    row = await db.fetchrow(
        "SELECT scheduled_at, duration_minutes, status FROM infusions WHERE patient_id = $1",
        patient,
    )
    local = row["scheduled_at"].astimezone(ZoneInfo("America/New_York"))
    assert (local.date(), local.hour, local.minute) == (day, 9, 30)
    assert (row["duration_minutes"], row["status"]) == (45, "planned")
    upcoming = page.locator("#upcoming > li")
    await expect(upcoming).to_have_count(1)

    await upcoming.get_by_role("button", name="Move").click()
    await page.get_by_label("Time").fill("14:00")
    await page.get_by_role("button", name="Save new time").click()
    await expect(page.locator("#infusion-status")).to_have_text("Session moved and synced")
    moved = await db.fetchval("SELECT scheduled_at FROM infusions WHERE patient_id = $1", patient)
    assert moved.astimezone(ZoneInfo("America/New_York")).hour == 14

    page.once("dialog", lambda dialog: dialog.accept())
    await upcoming.get_by_role("button", name="Cancel").click()
    await expect(page.locator("#infusion-status")).to_have_text("Session cancelled and synced")
    assert await db.fetchval("SELECT status FROM infusions WHERE patient_id = $1", patient) == (
        "cancelled"
    )
    await expect(page.locator("#upcoming > li")).to_have_count(0)
    await expect(page.locator("#past > li")).to_contain_text("cancelled")


async def test_the_form_starts_on_today_and_fits_its_card(
    context: BrowserContext, page: Page
) -> None:
    await sign_up(context)
    await open_app(page, "/infusions")
    today = datetime.now(ZoneInfo(ZONE)).date()
    await expect(page.get_by_label("Date")).to_have_value(today.isoformat())
    card = await page.locator(".card", has=page.locator("#infusion-form")).evaluate(
        """(card) => {
            const box = card.getBoundingClientRect();
            const pad = parseFloat(getComputedStyle(card).paddingRight);
            return box.right - pad - parseFloat(getComputedStyle(card).borderRightWidth);
        }"""
    )
    for field in ("Date", "Time", "Length in minutes"):
        box = await page.get_by_label(field).bounding_box()
        assert box and box["x"] + box["width"] <= card + 0.5, (field, box, card)
    # After adding one, the form starts on today again.
    await page.get_by_label("Time").fill("15:00")
    await page.get_by_role("button", name="Add session").click()
    await expect(page.locator("#infusion-status")).to_have_text("Session added and synced")
    await expect(page.get_by_label("Date")).to_have_value(today.isoformat())
