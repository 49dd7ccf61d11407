"""Today: the day at a glance (the date, the next infusion, this week's PHQ-9), a confirmation
where the eye is after saving, "done for today" with an easy way to add another, and editing an
entry from the list below the form."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import BrowserContext, Locator, Page, expect

from tests.helpers.browser import ZONE, Db, csrf, open_app, sign_up


async def put(context: BrowserContext, kind: str, data: dict[str, Any]) -> None:
    response = await context.request.put(
        f"/api/v1/{kind}/{uuid.uuid4()}",
        data=json.dumps(data),
        headers={"content-type": "application/json", "x-csrf-token": await csrf(context)},
    )
    assert response.ok, await response.text()


async def in_view(page: Page, target: Locator) -> bool:
    """Whole inside the viewport and not under the tab bar."""
    box = await target.bounding_box()
    bottom = await page.evaluate(
        "Math.min(innerHeight, document.querySelector('.tabbar').getBoundingClientRect().top)"
    )
    return bool(box and box["height"] and box["y"] >= 0 and box["y"] + box["height"] <= bottom)


async def test_after_saving_the_confirmation_is_in_view_and_today_is_done(
    context: BrowserContext, page: Page
) -> None:
    await sign_up(context)
    await open_app(page, "/")
    await page.get_by_role("radio", name="7", exact=True).tap()
    await page.get_by_role("button", name="Save check-in").tap()
    status = page.locator("#save-status")
    await expect(status).to_have_text("Saved and synced")
    assert await in_view(page, status)
    done = page.get_by_role("region", name="Done for today")
    await expect(done).to_contain_text("mood 7")
    assert await in_view(page, done)
    await expect(page.locator("#checkin")).to_be_hidden()  # nothing to log twice by mistake

    await page.reload()  # the day stays done, from this phone
    await expect(done).to_be_visible()
    await page.get_by_role("button", name="Add another check-in").tap()
    await expect(page.locator("#checkin")).to_be_visible()
    await page.get_by_role("radio", name="4", exact=True).tap()
    await page.get_by_role("button", name="Save check-in").tap()
    await expect(status).to_have_text("Saved and synced")
    await expect(done).to_contain_text("2 times today")
    assert await in_view(page, status)


async def test_a_reminder_to_check_in_opens_the_form_even_when_today_is_done(
    context: BrowserContext, page: Page
) -> None:
    await sign_up(context)
    zone = ZoneInfo(ZONE)
    await put(
        context,
        "checkins",
        {"recorded_at": datetime.now(zone).isoformat(), "mood": 5, "side_effects": []},
    )
    await open_app(page, "/?checkin")  # the evening-after reminder's link
    await expect(page.locator("#checkin")).to_be_visible()
    await expect(page.get_by_role("region", name="Done for today")).to_be_hidden()


async def test_today_shows_the_date_the_next_infusion_and_this_weeks_phq9(
    context: BrowserContext, page: Page
) -> None:
    await sign_up(context)
    zone = ZoneInfo(ZONE)
    today = datetime.now(zone).date()
    await open_app(page, "/")
    await expect(page.locator("#today-date")).to_have_text(f"{today:%A}, {today:%B} {today.day}")
    await expect(page.locator("#next-infusion")).to_have_text("Next infusion: none planned")
    await expect(page.locator("#phq9-state")).to_contain_text("PHQ-9 is due")
    await expect(page.locator("#phq9-state").get_by_role("link")).to_have_attribute(
        "href", "/assess/phq9"
    )

    session = today + timedelta(days=3)
    at = datetime.combine(session, time(10), zone)
    await put(
        context,
        "infusions",
        {"scheduled_at": at.isoformat(), "duration_minutes": 40, "status": "planned"},
    )
    taken = datetime.combine(today - timedelta(days=2), time(12), zone)
    await put(
        context,
        "assessments",
        {
            "instrument": "phq9",
            "answers": [1, 1, 1, 1, 0, 0, 0, 0, 0],
            "taken_at": taken.isoformat(),
        },
    )
    await page.reload()  # the first sync of the page brings them to this phone
    label = f"{session:%a}, {session:%b} {session.day}, 10:00 AM"
    await expect(page.locator("#next-infusion")).to_have_text(f"Next infusion: {label}")
    done = f"{taken:%a}, {taken:%b} {taken.day}"
    await expect(page.locator("#phq9-state")).to_have_text(f"This week’s PHQ-9: done on {done} ✓")


async def test_editing_an_entry_brings_the_form_into_view_with_save_changes_whole(
    context: BrowserContext, page: Page
) -> None:
    await sign_up(context)
    now = datetime.now(ZoneInfo(ZONE))
    for minutes, mood in ((30, 3), (20, 8), (10, 6)):
        moment = max(now - timedelta(minutes=minutes), now.replace(hour=0, minute=0, second=1))
        await put(
            context,
            "checkins",
            {"recorded_at": moment.isoformat(), "mood": mood, "side_effects": []},
        )
    await open_app(page, "/")
    entries = page.locator("#today-entries > li")
    await expect(entries).to_have_count(3)
    oldest = entries.last
    await oldest.scroll_into_view_if_needed()
    await oldest.get_by_role("button", name="Edit").tap()

    await expect(page.get_by_role("heading", level=1)).to_contain_text("Edit entry from")
    chosen = page.locator(".mood-option", has=page.locator("input:checked"))
    await expect(chosen).to_have_text("3")
    save = page.get_by_role("button", name="Save changes")
    assert await in_view(page, chosen)
    assert await in_view(page, save)
    whole = await save.evaluate("(b) => b.scrollWidth <= b.clientWidth")
    box = await save.bounding_box()
    assert whole and box and box["width"] >= 120, box
    await page.get_by_role("radio", name="4", exact=True).tap()
    await save.tap()
    await expect(page.locator("#save-status")).to_have_text("Saved and synced")
    await expect(entries.last).to_contain_text("mood 4")


async def test_in_a_course_today_shows_which_session_is_next_and_when(
    context: BrowserContext, page: Page, db: Db
) -> None:
    me = await sign_up(context)
    zone = ZoneInfo(ZONE)
    first = datetime.combine(datetime.now(zone).date() - timedelta(days=4), time(10), zone)
    course = uuid.uuid4()
    await db.fetchval(
        """INSERT INTO courses (id, patient_id, kind, drug, sessions, every_days, first_at,
                                duration_minutes)
           VALUES ($1, $2, 'induction', 'iv_ketamine', 6, 2, $3, 45) RETURNING id""",
        course,
        uuid.UUID(me["id"]),
        first,
    )
    for n in range(6):
        when = first + timedelta(days=2 * n)
        status = "completed" if n < 2 else "planned"
        session = uuid.uuid4()
        response = await context.request.put(
            f"/api/v1/infusions/{session}",
            data=json.dumps(
                {"scheduled_at": when.isoformat(), "duration_minutes": 45, "status": status}
            ),
            headers={"content-type": "application/json", "x-csrf-token": await csrf(context)},
        )
        assert response.ok, await response.text()
        await db.fetchval("UPDATE infusions SET course_id = $1 WHERE id = $2", course, session)

    await open_app(page, "/")
    card = page.get_by_role("region", name="Your treatment plan")
    await expect(card).to_contain_text("Induction: session 3 of 6 is next (2 done).")
    await expect(card).to_contain_text("Next: ")
