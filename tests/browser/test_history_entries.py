"""History's list of entries says what each check-in held (side effects, with what "other" was,
and the note), online and offline; the PHQ-9 chart labels its gridlines."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import BrowserContext, Page, expect

from tests.helpers.browser import ZONE, csrf, open_app, seed_history, sign_up

NOTE = "Slept badly.\nThe ride home was fine."


async def test_entries_show_side_effects_and_notes_online_and_offline(
    context: BrowserContext, page: Page
) -> None:
    await sign_up(context)
    await seed_history(context)
    moment = datetime.now(ZoneInfo(ZONE)) - timedelta(minutes=5)
    response = await context.request.put(
        f"/api/v1/checkins/{uuid.uuid4()}",
        data=json.dumps(
            {
                "recorded_at": moment.isoformat(),
                "mood": 4,
                "anxiety": 6,
                "side_effects": [
                    {"code": "nausea", "severity": 2},
                    {"code": "other", "severity": 1, "text": "tingling hands"},
                ],
                "note": NOTE,
            }
        ),
        headers={"content-type": "application/json", "x-csrf-token": await csrf(context)},
    )
    assert response.ok, await response.text()
    await open_app(page, "/history")
    newest = page.locator("#history-entries > li").first
    detail = "Nausea (moderate), Other: tingling hands (mild), anxiety 6"
    await expect(newest.locator(".entry-detail")).to_have_text(detail)
    await expect(newest.locator(".entry-note")).to_have_text(NOTE)

    # The PHQ-9 chart's gridlines, where its bands start, each with its number.
    ticks = page.locator("svg.chart-phq9 text.tick")
    for label in ("0", "5", "10", "15", "20", "27"):
        await expect(ticks.filter(has_text=re.compile(f"^{label}$"))).to_be_visible()

    await context.set_offline(True)
    await page.reload()
    await page.get_by_role("heading", name="History", exact=True).wait_for()
    await expect(newest.locator(".entry-detail")).to_have_text(detail)
    await expect(newest.locator(".entry-note")).to_have_text(NOTE)
