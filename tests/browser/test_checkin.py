"""The check-in is quick (mood only: at most three taps), the day after an infusion the mood
scale stays first and in view above Save (the usual side effects leading theirs), and a PHQ-9
item 9 above 0 shows help at once, even offline."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import BrowserContext, Page, expect

from tests.helpers.browser import PHONE, ZONE, Db, open_app, sign_up

COUNT_TAPS = """
window.__taps = 0;
document.addEventListener("click", (e) => { if (e.isTrusted) window.__taps += 1; }, true);
"""


async def test_mood_only_check_in_takes_at_most_three_taps(
    context: BrowserContext, page: Page, db: Db
) -> None:
    me = await sign_up(context)
    await context.add_init_script(COUNT_TAPS)
    await open_app(page, "/")
    await page.get_by_role("radio", name="7", exact=True).tap()
    await page.get_by_role("button", name="Save check-in").tap()
    await expect(page.locator("#save-status")).to_have_text("Saved and synced")
    assert await page.evaluate("window.__taps") <= 3
    stored = await db.fetch(
        "SELECT mood, side_effects FROM checkins WHERE patient_id = $1", uuid.UUID(me["id"])
    )
    assert [(r["mood"], r["side_effects"]) for r in stored] == [(7, [])]
    entry = page.locator("#today-entries > li")
    await expect(entry).to_have_count(1)
    await expect(entry).to_contain_text("mood 7")


async def test_the_day_after_an_infusion_mood_stays_first_and_in_view_above_save(
    context: BrowserContext, page: Page, db: Db, screenshots: Path
) -> None:
    me = await sign_up(context)
    token = next(c["value"] for c in await context.cookies() if c["name"] == "csrftoken")
    # Noon on the browser's yesterday: 24 hours ago is two days back just after midnight on the
    # day after the clocks go forward.
    zone = ZoneInfo(ZONE)
    yesterday = datetime.combine(datetime.now(zone).date() - timedelta(days=1), time(12), zone)
    response = await context.request.put(
        f"/api/v1/infusions/{uuid.uuid4()}",
        data=json.dumps(
            {"scheduled_at": yesterday.isoformat(), "duration_minutes": 40, "status": "completed"}
        ),
        headers={"content-type": "application/json", "x-csrf-token": token},
    )
    assert response.ok, await response.text()
    await context.add_init_script(COUNT_TAPS)
    await open_app(page, "/")
    await expect(page.locator("#post-infusion")).to_be_visible()

    # 390×844, nothing scrolled: all eleven mood buttons, then Save below them, above the tab bar.
    assert await page.evaluate("window.scrollY") == 0
    moods = [await b.bounding_box() for b in await page.locator(".mood-option").all()]
    save = await page.get_by_role("button", name="Save check-in").bounding_box()
    tabbar = await page.locator(".tabbar").bounding_box()
    assert save and tabbar and len(moods) == 11
    for box in moods:
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= save["y"], (box, save)
    assert save["y"] + save["height"] <= tabbar["y"] <= PHONE["height"]
    # The side effects that usually follow an infusion lead their list, under the mood.
    effects = await page.locator("#effects").bounding_box()
    assert effects and effects["y"] > max(b["y"] for b in moods if b)
    chips = await page.evaluate(
        """[...document.querySelectorAll(".chip")]
             .map((c) => [c.getBoundingClientRect(), c.dataset.code])
             .sort(([a], [b]) => a.top - b.top || a.left - b.left).map(([, code]) => code)"""
    )
    assert set(chips[:5]) == {"dissociation", "nausea", "dizziness", "headache", "drowsiness"}
    await page.screenshot(path=str(screenshots / "today-after-infusion.png"))

    # Two taps, no scrolling.
    await page.get_by_role("radio", name="6", exact=True).tap()
    await page.get_by_role("button", name="Save check-in").tap()
    await expect(page.locator("#save-status")).to_have_text("Saved and synced")
    assert await page.evaluate("window.__taps") == 2
    stored = await db.fetch(
        "SELECT mood, side_effects FROM checkins WHERE patient_id = $1", uuid.UUID(me["id"])
    )
    assert [(r["mood"], r["side_effects"]) for r in stored] == [(6, [])]

    # And a side effect with its strength, as another check-in.
    await page.get_by_role("button", name="Add another check-in").tap()
    await page.get_by_text("Dissociation", exact=True).tap()
    await page.get_by_role("radio", name="Moderate").tap()
    await page.get_by_role("radio", name="5", exact=True).tap()
    await page.get_by_role("button", name="Save check-in").tap()
    await expect(page.locator("#save-status")).to_have_text("Saved and synced")
    effects_stored = await db.fetchval(
        "SELECT side_effects FROM checkins WHERE patient_id = $1 AND mood = 5",
        uuid.UUID(me["id"]),
    )
    assert [(e["code"], e["severity"]) for e in effects_stored] == [("dissociation", 2)]


async def test_item_9_shows_crisis_resources_at_once_even_offline(
    context: BrowserContext, page: Page
) -> None:
    await sign_up(context)
    await open_app(page, "/assess/phq9")
    await context.set_offline(True)  # nothing here waits for the server
    crisis = page.locator("#crisis-now")
    for number in range(1, 9):
        await page.locator("#progress-text", has_text=f"Question {number} of 9").wait_for()
        await page.get_by_role("radio", name="Not at all").tap()
        await expect(crisis).to_be_hidden()
    await page.locator("#progress-text", has_text="Question 9 of 9").wait_for()
    await page.get_by_role("radio", name="Several days").tap()
    await expect(crisis).to_be_visible()
    await expect(crisis).to_be_focused()
    await expect(crisis.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
    await expect(crisis.get_by_role("link", name="Text 988")).to_have_attribute("href", "sms:988")
    await expect(crisis.get_by_role("link", name="Call 911")).to_have_attribute("href", "tel:911")
    await expect(crisis.get_by_role("link", name="Call your clinic")).to_be_visible()
    await expect(crisis).to_contain_text("not monitored around the clock")
    # Help comes before the score, and stays on screen with it.
    await expect(page.locator("#result")).to_be_hidden()
    await page.get_by_role("button", name="Finish").tap()
    await expect(page.locator("#result-score")).to_have_text("Your score: 1")
    await expect(crisis).to_be_visible()
    box_crisis = await crisis.bounding_box()
    box_result = await page.locator("#result").bounding_box()
    assert box_crisis and box_result and box_crisis["y"] < box_result["y"]
    await expect(page.get_by_role("link", name="Need help now")).to_be_visible()
