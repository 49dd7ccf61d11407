"""Offline first: entries made without a connection wait in the IndexedDB outbox, survive a
reload, and reach the database exactly once when the phone is back online."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from playwright.async_api import BrowserContext, Page, expect

from tests.helpers.browser import Db, eventually, open_app, outbox_size, sign_up
from tests.helpers.live_server import LiveServer

PENDING = "Saved on this phone — will sync"


async def log_mood(page: Page, mood: str) -> None:
    another = page.get_by_role("button", name="Add another check-in")
    if await another.is_visible():  # today is done already
        await another.click()
    await page.get_by_role("radio", name=mood, exact=True).first.click()
    await page.get_by_role("button", name="Save check-in").click()


async def answer_phq9(page: Page, answers: list[int]) -> None:
    labels = ["Not at all", "Several days", "More than half the days", "Nearly every day"]
    for number, answer in enumerate(answers, start=1):
        await page.locator("#progress-text", has_text=f"Question {number} of 9").wait_for()
        await page.get_by_role("radio", name=labels[answer]).click()  # a tap moves on
    await page.get_by_role("button", name="Finish").click()


async def test_entries_made_offline_sync_once(context: BrowserContext, page: Page, db: Db) -> None:
    me = await sign_up(context)
    patient = uuid.UUID(me["id"])
    await open_app(page, "/")
    await page.get_by_text("Nothing logged yet today.").wait_for()

    await context.set_offline(True)
    for mood in ("3", "5", "8"):
        await log_mood(page, mood)
        await page.locator("#save-status", has_text=PENDING).wait_for()
    await page.goto("/assess/phq9")  # from the service worker's cache
    await answer_phq9(page, [1, 2, 1, 1, 0, 1, 0, 0, 0])
    await page.locator("#result-sync", has_text=PENDING).wait_for()
    assert await page.locator("#result-score").text_content() == "Your score: 6"

    # History's charts are drawn by the server; offline, it lists the entries on this phone.
    await page.goto("/history")
    await page.get_by_role("heading", name="History", exact=True).wait_for()
    await expect(page.locator(".lead")).to_contain_text("the charts cannot be drawn")
    kept = page.locator("#history-entries > li")
    await expect(kept).to_have_count(4)  # the three check-ins and the PHQ-9
    await expect(kept.filter(has_text=PENDING)).to_have_count(4)
    await expect(kept.first).to_contain_text("PHQ-9 6")  # newest first
    await expect(kept.filter(has_text="mood 8")).to_have_count(1)
    await page.goto("/")
    await page.reload()  # still offline: the shell and the entries come from this phone
    entries = page.locator("#today-entries > li")
    await entries.nth(2).wait_for()
    assert await entries.count() == 3
    assert await page.locator("#today-entries .badge", has_text=PENDING).count() == 3
    assert await outbox_size(page) == 4
    assert await db.fetchval("SELECT count(*) FROM checkins WHERE patient_id = $1", patient) == 0
    sent = await page.evaluate("self.Afterglow.outbox()")

    await context.set_offline(False)  # the `online` event starts a sync
    await eventually(page, "self.Afterglow.pendingCount().then((n) => n === 0)")
    await page.locator("#today-entries .badge", has_text="Synced").nth(2).wait_for()
    moods = await db.fetch(
        "SELECT mood FROM checkins WHERE patient_id = $1 AND NOT deleted ORDER BY recorded_at",
        patient,
    )
    assert [r["mood"] for r in moods] == [3, 5, 8]
    phq9 = await db.fetch(
        "SELECT answers, total FROM assessments WHERE patient_id = $1 AND NOT deleted", patient
    )
    assert [(list(r["answers"]), r["total"]) for r in phq9] == [([1, 2, 1, 1, 0, 1, 0, 0, 0], 6)]

    # Replaying the very same outbox (a retry after a lost answer) changes nothing.
    reply = await page.evaluate(
        """async (sent) => {
            const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
            const response = await fetch("/api/v1/sync", {
                method: "POST",
                headers: {"content-type": "application/json", "x-csrf-token": token},
                body: JSON.stringify({since: null, changes: sent.map((c) => ({
                    kind: c.kind, id: c.id, op: c.op, updated_at: c.updated_at, data: c.data,
                }))}),
            });
            return response.json();
        }""",
        sent,
    )
    assert sorted(r["status"] for r in reply["results"]) == ["unchanged"] * 4
    assert await db.fetchval("SELECT count(*) FROM checkins WHERE patient_id = $1", patient) == 3
    assert await db.fetchval("SELECT count(*) FROM assessments WHERE patient_id = $1", patient) == 1

    await page.reload()
    await page.locator("#today-entries .badge", has_text="Synced").nth(2).wait_for()
    assert await page.locator("#today-entries > li").count() == 3


async def test_background_sync_sends_the_outbox_with_no_page_open(
    context: BrowserContext, page: Page, db: Db, live: LiveServer
) -> None:
    me = await sign_up(context)
    await open_app(page, "/")
    await context.set_offline(True)
    await log_mood(page, "6")
    await page.locator("#save-status", has_text=PENDING).wait_for()
    blank = await context.new_page()
    await page.close()  # nobody is looking: only the service worker can send it now
    await context.set_offline(False)

    cdp = await context.new_cdp_session(blank)
    found: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def updated(event: dict[str, Any]) -> None:
        for registration in event["registrations"]:
            if registration["scopeURL"] == f"{live.url}/" and not found.done():
                found.set_result(registration["registrationId"])

    cdp.on("ServiceWorker.workerRegistrationUpdated", updated)
    await cdp.send("ServiceWorker.enable")
    await cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": live.url,
            "registrationId": await asyncio.wait_for(found, 10),
            "tag": "afterglow-outbox",
            "lastChance": False,
        },
    )
    patient = uuid.UUID(me["id"])
    for _ in range(100):
        if await db.fetchval("SELECT count(*) FROM checkins WHERE patient_id = $1", patient):
            break
        await asyncio.sleep(0.1)
    assert await db.fetchval("SELECT mood FROM checkins WHERE patient_id = $1", patient) == 6
