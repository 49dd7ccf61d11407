"""History: the server-drawn mood chart with infusion markers, the PHQ-9 trend, and the
patient's entries to change or delete; a questionnaire can only be retracted, and stays with the
clinician."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, BrowserContext, Page, expect

from server.services import passwords
from server.store import users as user_store
from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.browser import ZONE, Db, csrf, eventually, open_app, seed_history, sign_up
from tests.helpers.live_server import LiveServer


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


async def test_a_retracted_questionnaire_leaves_history_and_stays_marked_for_the_clinician(
    browser: Browser, context: BrowserContext, page: Page, db: Db, live: LiveServer
) -> None:
    me = await sign_up(context)
    await seed_history(context)
    # A PHQ-9 two days ago with item 9 answered 1 (total 7), and a share with a clinician.
    zone = ZoneInfo(ZONE)
    taken = datetime.combine(datetime.now(zone).date() - timedelta(days=2), time(12), zone)
    entry = str(uuid.uuid4())
    headers = {"content-type": "application/json", "x-csrf-token": await csrf(context)}
    answered = await context.request.put(
        f"/api/v1/assessments/{entry}",
        data=json.dumps(
            {
                "instrument": "phq9",
                "answers": [1, 1, 1, 1, 1, 1, 0, 0, 1],
                "taken_at": taken.isoformat(),
            }
        ),
        headers=headers,
    )
    assert answered.status == 201, await answered.text()
    code = (await (await context.request.post("/api/v1/shares", headers=headers)).json())["code"]
    email = unique_email("clinician")
    conn = await db.connect()
    try:
        await user_store.create_user(
            conn,
            email=email,
            role="clinician",
            password_hash=await passwords.hash_password(PASSWORD),
            display_name="Dr. Retract",
            timezone=ZONE,
        )
    finally:
        await conn.close()

    await open_app(page, "/history")
    entries = page.locator("#history-entries > li")
    await expect(entries).to_have_count(29 + 3 + 1)
    phq9 = page.get_by_role("img", name="PHQ-9 totals over time (lower is better)")
    await expect(phq9.locator("circle.point")).to_have_count(3)
    answer = entries.filter(has_text="PHQ-9 7")
    await expect(answer.get_by_role("button", name="Delete")).to_have_count(0)  # final
    page.once("dialog", lambda dialog: dialog.accept())
    await answer.get_by_role("button", name="Retract").click()
    await eventually(page, "self.Afterglow.pendingCount().then((n) => n === 0)")
    await expect(entries).to_have_count(29 + 3)
    await expect(entries.filter(has_text="PHQ-9 7")).to_have_count(0)
    await page.reload()
    await expect(page.locator("#history-entries > li")).to_have_count(29 + 3)
    await expect(
        page.get_by_role("img", name="PHQ-9 totals over time (lower is better)").locator(
            "circle.point"
        )
    ).to_have_count(2)
    row = await db.fetchrow(
        "SELECT answers, retracted_at FROM assessments WHERE id = $1", uuid.UUID(entry)
    )
    assert row is not None and row["answers"][8] == 1 and row["retracted_at"] is not None

    # The clinician, on a desktop: the answer is on the summary, marked, with its item-9 flag.
    desk = await browser.new_context(
        base_url=live.url, viewport={"width": 1280, "height": 900}, timezone_id=ZONE
    )
    try:
        clinic = await desk.new_page()
        await clinic.goto("/login")
        await clinic.get_by_label("Email").fill(email)
        await clinic.get_by_label("Password").fill(PASSWORD)
        await clinic.get_by_role("button", name="Sign in", exact=True).click()
        await clinic.wait_for_url("**/clinician")
        accepted = await desk.request.post(
            "/api/v1/shares/accept",
            data=json.dumps({"code": code}),
            headers={"content-type": "application/json", "x-csrf-token": await csrf(desk)},
        )
        assert accepted.status == 200, await accepted.text()
        await clinic.goto(f"/clinician/patients/{me['id']}")
        retracted = clinic.locator(".retracted")
        await expect(retracted).to_contain_text("Retracted by the patient")
        day = taken.date()
        await expect(retracted).to_contain_text(f"PHQ-9 7 on {day:%b} {day.day}")
        flag = clinic.locator(".flags li.flag-item9")
        await expect(flag).to_contain_text("answered 1 of 3")
        await expect(flag).to_contain_text("retracted this questionnaire")
        dots = clinic.locator("svg.chart-scores circle.phq9-line-dot")
        await expect(dots).to_have_count(4)  # 90 days: the retracted one too, said so
        await expect(dots.locator("title", has_text="retracted by the patient")).to_have_count(1)
    finally:
        await desk.close()
