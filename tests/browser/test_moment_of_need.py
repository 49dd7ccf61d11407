"""At the moment of need (issue 13): a check-in with mood 0, or 0–1 on two consecutive
check-ins, offers the crisis resources at once, decided on the phone (offline too); the day after
an infusion Today names the red flags that need the clinic or 911 now; the PHQ-9 asks item 10
(optional, unscored) and both questionnaires carry their authors' attribution."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import BrowserContext, Page, expect

from tests.helpers.browser import ZONE, Db, csrf, open_app, sign_up

NOT_MONITORED = re.compile("this app is not monitored around the clock", re.IGNORECASE)


async def check_in(page: Page, mood: int) -> None:
    another = page.get_by_role("button", name="Add another check-in")
    if await another.is_visible():  # today is done already
        await another.click()
    await page.locator(".mood-option").nth(mood).click()  # 0 to 10, in order
    await page.get_by_role("button", name="Save check-in").click()
    await page.locator("#save-status", has_text="Saved on this phone").wait_for()


async def test_a_check_in_with_mood_0_offline_shows_the_crisis_resources(
    context: BrowserContext, page: Page
) -> None:
    await sign_up(context)
    await open_app(page, "/")
    await page.get_by_text("Nothing logged yet today.").wait_for()
    crisis = page.locator("#crisis-now")
    await expect(crisis).to_be_hidden()
    await context.set_offline(True)  # decided on the phone: nothing waits for the server

    await check_in(page, 0)
    await expect(crisis).to_be_visible()
    await expect(crisis).to_be_focused()
    await expect(crisis).to_contain_text(NOT_MONITORED)
    await expect(crisis.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
    await expect(crisis.get_by_role("link", name="Text 988")).to_have_attribute("href", "sms:988")
    await expect(crisis.get_by_role("link", name="Call 911")).to_have_attribute("href", "tel:911")

    await page.reload()  # still offline: the phone's own records keep it in view today
    await expect(crisis).to_be_visible()
    await check_in(page, 6)  # a better moment since: the box steps back
    await expect(crisis).to_be_hidden()


async def test_mood_1_twice_in_a_row_shows_them_once_does_not(
    context: BrowserContext, page: Page
) -> None:
    await sign_up(context)
    await open_app(page, "/")
    await context.set_offline(True)
    crisis = page.locator("#crisis-now")
    await check_in(page, 1)
    await expect(page.locator("#today-entries > li")).to_have_count(1)
    await expect(crisis).to_be_hidden()
    await check_in(page, 1)
    await expect(page.locator("#today-entries > li")).to_have_count(2)
    await expect(crisis).to_be_visible()
    await expect(crisis).to_contain_text(NOT_MONITORED)


async def test_the_day_after_an_infusion_today_names_the_red_flags(
    context: BrowserContext, page: Page
) -> None:
    await sign_up(context)
    zone = ZoneInfo(ZONE)
    yesterday = datetime.combine(datetime.now(zone).date() - timedelta(days=1), time(12), zone)
    response = await context.request.put(
        f"/api/v1/infusions/{uuid.uuid4()}",
        data=json.dumps(
            {"scheduled_at": yesterday.isoformat(), "duration_minutes": 40, "status": "completed"}
        ),
        headers={"content-type": "application/json", "x-csrf-token": await csrf(context)},
    )
    assert response.ok, await response.text()
    await open_app(page, "/")
    notice = page.locator("#post-infusion")
    await expect(notice).to_be_visible()
    for sign in ("chest pain", "severe headache", "trouble breathing", "confusion that does not"):
        await expect(notice).to_contain_text(sign)
    await expect(notice.get_by_role("link", name="Call 911")).to_have_attribute("href", "tel:911")


async def test_phq9_asks_item_10_and_both_show_their_attribution(
    context: BrowserContext, page: Page, db: Db
) -> None:
    me = await sign_up(context)
    await open_app(page, "/assess/phq9")
    attribution = "developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke"
    await expect(page.locator(".attribution")).to_contain_text(attribution)
    await expect(page.locator(".attribution")).to_contain_text("No permission required")
    item10 = page.get_by_role("group", name=re.compile("how difficult have these problems"))
    await expect(item10).to_be_hidden()
    for number in range(1, 10):
        await page.locator("#progress-text", has_text=f"Question {number} of 9").wait_for()
        await page.get_by_role("radio", name="Several days").click()
    await expect(item10).to_be_visible()
    for label in ("Not difficult at all", "Somewhat difficult", "Very difficult"):
        await expect(item10.get_by_role("radio", name=label, exact=True)).to_be_visible()
    await item10.get_by_role("radio", name="Extremely difficult").click()
    await page.get_by_role("button", name="Finish").click()
    await expect(page.locator("#result-score")).to_have_text("Your score: 9")  # never scored
    await page.locator("#result-sync", has_text="Saved and synced").wait_for()
    stored = await db.fetch(
        "SELECT answers, total, difficulty FROM assessments WHERE patient_id = $1",
        uuid.UUID(me["id"]),
    )
    assert [(r["answers"], r["total"], r["difficulty"]) for r in stored] == [([1] * 9, 9, 3)]

    await page.goto("/assess/gad7")
    await expect(page.locator(".attribution")).to_contain_text(attribution)
    await expect(page.locator("#difficulty")).to_have_count(0)


async def test_the_crisis_lines_follow_the_country_of_the_patients_clinic(
    context: BrowserContext, page: Page, db: Db
) -> None:
    me = await sign_up(context)
    conn = await db.connect()
    try:
        clinic = await conn.fetchval(
            """INSERT INTO clinics (name, phone, country) VALUES ('Thames Clinic', '020 7946 0000',
               'GB') RETURNING id"""
        )
        await conn.execute(
            "INSERT INTO clinic_shares (patient_id, clinic_id) VALUES ($1, $2)",
            uuid.UUID(me["id"]),
            clinic,
        )
    finally:
        await conn.close()
    await open_app(page, "/")
    await page.goto("/crisis")
    actions = page.locator(".crisis-actions")
    await expect(actions.get_by_role("link", name="Call 116 123")).to_have_attribute(
        "href", "tel:116123"
    )
    await expect(actions.get_by_role("link", name="Call 999")).to_have_attribute("href", "tel:999")
    await expect(actions.locator('a[href="tel:988"]')).to_have_count(0)
    await expect(actions.locator("a[data-clinic-phone]")).to_have_attribute(
        "href", "tel:02079460000"
    )
