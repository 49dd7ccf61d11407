"""The first run (/welcome), one skippable step at a time: the patient's day, notifications on
this phone (a stubbed subscription, as in test_push), the next infusion, and sharing."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import BrowserContext, Page, expect

from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.browser import ZONE, Db, sign_up
from tests.helpers.live_server import LiveServer
from tests.helpers.push_service import PushService
from tests.helpers.web_push import STUB_SUBSCRIBE


async def test_first_run_turns_on_notifications_saves_the_next_infusion_and_offers_sharing(
    context: BrowserContext, page: Page, db: Db, live: LiveServer, screenshots: Path
) -> None:
    async with PushService() as service:
        minted = service.subscribe()
        await context.grant_permissions(["notifications"], origin=live.url)
        await context.add_init_script(STUB_SUBSCRIBE % json.dumps(minted.as_json()))
        await page.goto("/signup")
        await page.get_by_label("What should we call you?").fill("Robin")
        await page.get_by_label("Email").fill(unique_email())
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Create account").click()
        await page.wait_for_url("**/welcome")
        me = await (await context.request.get("/api/v1/me")).json()
        patient = uuid.UUID(me["id"])

        await page.get_by_label("When should we remind you to check in?").fill("20:15")
        await page.get_by_role("button", name="Next").click()

        await expect(page.get_by_role("heading", name="Reminders on this phone")).to_be_focused()
        await page.screenshot(path=str(screenshots / "first-run-notifications.png"))
        await page.get_by_role("button", name="Turn on notifications").click()
        await expect(page.locator("#welcome-push-status")).to_have_text(
            "Done: this phone will get your reminders."
        )
        stored = await db.fetch(
            "SELECT endpoint FROM push_subscriptions WHERE user_id = $1", patient
        )
        assert [r["endpoint"] for r in stored] == [minted.endpoint]
        await page.get_by_role("button", name="Next").click()

    await expect(page.get_by_role("heading", name="Your next infusion")).to_be_focused()
    day = date.today() + timedelta(days=4)
    await page.get_by_label("Date", exact=True).fill(day.isoformat())
    await page.get_by_label("Time", exact=True).fill("09:30")
    await page.get_by_role("button", name="Save", exact=True).click()

    await expect(page.get_by_role("heading", name="Share with your psychiatrist")).to_be_focused()
    row = await db.fetchrow(
        "SELECT scheduled_at, status FROM infusions WHERE patient_id = $1", patient
    )
    assert row is not None and row["status"] == "planned"
    local = row["scheduled_at"].astimezone(ZoneInfo(ZONE))
    assert (local.date(), local.hour, local.minute) == (day, 9, 30)
    reminders = await (await context.request.get("/api/v1/me/reminders")).json()
    assert reminders["daily_checkin_time"] == "20:15"

    await page.get_by_role("button", name="Make a share code").click()
    await page.wait_for_url("**/sharing")
    await expect(page.get_by_role("heading", name="Your code")).to_be_visible()
    assert await db.fetchval("SELECT count(*) FROM shares WHERE patient_id = $1", patient) == 1


async def test_every_first_run_step_can_be_skipped(
    context: BrowserContext, page: Page, db: Db
) -> None:
    me = await sign_up(context)
    patient = uuid.UUID(me["id"])
    await page.goto("/welcome")
    await page.get_by_role("button", name="Skip").click()
    await expect(page.get_by_role("heading", name="Reminders on this phone")).to_be_visible()
    await page.get_by_role("button", name="Skip").click()
    await page.get_by_role("button", name="Skip: not planned yet").click()
    await page.get_by_role("link", name="Not now: go to Today").click()
    await page.wait_for_url(lambda url: url.endswith("/"))
    await expect(page.get_by_role("heading", name="How are you today?")).to_be_visible()
    for query in (
        "SELECT count(*) FROM push_subscriptions WHERE user_id = $1",
        "SELECT count(*) FROM infusions WHERE patient_id = $1",
        "SELECT count(*) FROM shares WHERE patient_id = $1",
    ):
        assert await db.fetchval(query, patient) == 0, query
