"""Infusion day in Chromium (issue 16): on a tablet, a nurse of the patient's clinic records a
whole session (dose, the vital signs three times, dissociation, discharge) in under 20 taps,
and it appears on the summary (taps and selections are counted; typed digits are not); on a
phone, the patient's driver answers the ride request without an account."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from server import security
from server.services import passwords
from server.store import clinics as clinic_store
from server.store import users as user_store
from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.browser import ZONE, Db, csrf, open_app, sign_up
from tests.helpers.live_server import LiveServer

pytestmark = pytest.mark.browser

TABLET = {"width": 820, "height": 1180}
MOST_TAPS = 19


class Taps:
    """Every tap or selection the nurse makes; what is typed after a tap is free."""

    def __init__(self) -> None:
        self.count = 0

    async def tap(self, target: Locator) -> None:
        self.count += 1
        await target.click()

    async def type(self, target: Locator, digits: str) -> None:
        self.count += 1  # the tap into the field
        await target.fill(digits)

    async def choose(self, target: Locator, value: str) -> None:
        self.count += 1
        await target.select_option(value)


@pytest.fixture
async def tablet(browser: Browser, live: LiveServer) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(
        base_url=live.url,
        viewport=TABLET,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale="en-US",
        timezone_id=ZONE,
    )
    ctx.set_default_timeout(15_000)
    yield ctx
    await ctx.close()


async def _patient_with_a_session(live: LiveServer) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as client:
        await client.get("/healthz")
        client.headers[security.CSRF_HEADER] = client.cookies[security.CSRF_COOKIE]
        made = await client.post(
            "/api/v1/auth/register",
            json={
                "email": unique_email(),
                "password": PASSWORD,
                "display_name": "Maria Lopez",
                "timezone": ZONE,
            },
        )
        assert made.status_code == 201, made.text
        session = str(uuid.uuid4())
        started = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=50)
        planned = await client.put(
            f"/api/v1/infusions/{session}",
            json={"scheduled_at": started.isoformat(), "duration_minutes": 45},
        )
        assert planned.status_code == 201, planned.text
        return str(made.json()["id"]), session


async def _nurse_of(db: Db, patient_id: str) -> str:
    email = unique_email("nurse")
    conn = await db.connect()
    try:
        nurse = await user_store.create_user(
            conn,
            email=email,
            role="clinician",
            password_hash=await passwords.hash_password(PASSWORD),
            display_name="Nurse Kim",
            timezone=ZONE,
        )
        clinic = await clinic_store.create_clinic(conn, "Riverside Clinic")
        await clinic_store.add_member(conn, clinic, nurse.id, ["nurse"])
        await clinic_store.start_team_share(conn, clinic, uuid.UUID(patient_id))
    finally:
        await conn.close()
    return email


async def test_a_nurse_records_a_whole_session_in_under_20_taps(
    tablet: BrowserContext, live: LiveServer, db: Db
) -> None:
    patient_id, session = await _patient_with_a_session(live)
    email = await _nurse_of(db, patient_id)
    page: Page = await tablet.new_page()
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url("**/clinician*")
    await page.goto(f"/clinician/patients/{patient_id}")

    taps = Taps()
    await taps.tap(page.locator("a.record-session").first)
    await page.wait_for_url(f"**/sessions/{session}")
    await taps.type(page.get_by_label("Weight (kg)"), "70")
    await taps.type(page.get_by_label("Dose (mg/kg)"), "0.5")
    readings = {
        "Before dosing": ("146", "88", "76"),
        "About 40 minutes in": ("158", "96", "90"),
        "At discharge": ("132", "84", "72"),
    }
    for moment, values in readings.items():
        for field, value in zip(("Systolic", "Diastolic", "Heart rate"), values, strict=True):
            await taps.type(page.get_by_label(f"{moment}: {field}"), value)
        if moment != "At discharge":
            group = page.get_by_role("group", name=moment)
            await taps.tap(group.get_by_role("button", name="Save"))
            await expect(page.locator(".chair-saved")).to_be_visible()
        if moment == "Before dosing":
            await expect(page.locator("#chair-warning")).to_contain_text("146/88")
    await taps.choose(page.get_by_label("Dissociation (0–10, your rating)"), "6")
    await taps.tap(page.get_by_role("button", name="Discharge now"))
    await expect(page.locator(".chair-saved")).to_be_visible()
    await taps.tap(page.get_by_role("link", name="Back to the summary"))

    line = page.locator("#session-lines tbody tr")
    await expect(line).to_have_count(1)
    await expect(line).to_contain_text("35 mg (0.5 mg/kg)")
    await expect(line).to_contain_text("146/88 → 158/96 → 132/84")
    await expect(line).to_contain_text("6")
    assert taps.count <= MOST_TAPS, taps.count

    stored = await db.fetchrow(
        "SELECT dose_mg, dissociation, discharged_at, vitals FROM session_records"
        " WHERE infusion_id = $1",
        uuid.UUID(session),
    )
    assert stored is not None and stored["dose_mg"] == 35 and stored["dissociation"] == 6
    assert stored["discharged_at"] is not None
    assert stored["vitals"]["during"]["systolic"] == 158
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= TABLET["width"]


async def test_the_companion_answers_on_a_phone_without_an_account(
    context: BrowserContext, live: LiveServer, db: Db
) -> None:
    patient_id, _ = await _patient_with_a_session(live)
    session = str(uuid.uuid4())
    token = secrets.token_urlsafe(32)
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as client:
        await client.get("/healthz")
        client.headers[security.CSRF_HEADER] = client.cookies[security.CSRF_COOKIE]
        conn = await db.connect()
        try:
            email = await conn.fetchval(
                "SELECT email FROM users WHERE id = $1", uuid.UUID(patient_id)
            )
        finally:
            await conn.close()
        signed_in = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
        planned = await client.put(
            f"/api/v1/infusions/{session}",
            json={"scheduled_at": tomorrow.isoformat(), "duration_minutes": 45},
        )
        assert planned.status_code == 201
        asked = await client.put(
            f"/api/v1/infusions/{session}/checklist",
            json={"ride": "person", "companion": {"name": "Ana", "email": "ana@example.org"}},
        )
        assert asked.status_code == 200, asked.text
    # The worker would mint the token as it writes the email; here, straight in the table.
    await db.fetchval(
        "UPDATE companion_links SET token_hash = $1 WHERE infusion_id = $2 RETURNING id",
        hashlib.sha256(token.encode()).digest(),
        uuid.UUID(session),
    )
    page = await context.new_page()
    await page.goto(f"/ride#token={token}")
    question = page.locator("#ride-question")
    await expect(question).to_contain_text("Maria asked you to drive them home")
    assert "#" not in page.url  # the token left the address bar
    await page.get_by_role("button", name="Yes, I can").click()
    await expect(page.locator("#ride-done")).to_contain_text("Thank you")
    text = (await page.content()).lower()
    for word in ("mood", "ketamine", "infusion", "score", "depress"):
        assert word not in text
    answer = await db.fetchval(
        "SELECT answer FROM companion_links WHERE infusion_id = $1", uuid.UUID(session)
    )
    assert answer == "yes"


async def test_the_patient_names_a_driver_the_day_before(
    context: BrowserContext, page: Page
) -> None:
    await sign_up(context, name="Maria")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    made = await context.request.put(
        f"/api/v1/infusions/{uuid.uuid4()}",
        data=json.dumps({"scheduled_at": tomorrow.isoformat(), "duration_minutes": 45}),
        headers={"content-type": "application/json", "x-csrf-token": await csrf(context)},
    )
    assert made.status == 201
    await open_app(page, "/day-before?checklist")
    await expect(page.locator("#ride-state")).to_have_text("Your ride: not arranged")
    await page.get_by_label("Someone drives me").check()
    await page.get_by_label("Their name").fill("Ana")
    await page.get_by_label("Their email").fill("ana@example.org")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#ride-state")).to_have_text("Your ride: asked Ana, no answer yet")
    await page.get_by_label("A rideshare or taxi").check()
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#ride-advice")).to_contain_text("Do not drive")
    await expect(page.locator("#ride-state")).to_have_text("Your ride: rideshare")


async def test_the_day_before_page_in_spanish(context: BrowserContext, page: Page) -> None:
    # The ride's state and the rideshare advice are written by the server in the patient's
    # language (issue 18); the page puts "Tu viaje:" in front.
    await sign_up(context, name="Lucía")
    headers = {"content-type": "application/json", "x-csrf-token": await csrf(context)}
    spanish = await context.request.patch(
        "/api/v1/me", data=json.dumps({"language": "es"}), headers=headers
    )
    assert spanish.status == 200
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    made = await context.request.put(
        f"/api/v1/infusions/{uuid.uuid4()}",
        data=json.dumps({"scheduled_at": tomorrow.isoformat(), "duration_minutes": 45}),
        headers=headers,
    )
    assert made.status == 201
    await open_app(page, "/day-before?checklist")
    await expect(page.locator("#ride-state")).to_have_text("Tu viaje: sin organizar")
    await page.get_by_label("Un taxi o un viaje compartido").check()
    await page.get_by_role("button", name="Guardar").click()
    await expect(page.locator("#ride-advice")).to_contain_text("No manejes tú")
    await expect(page.locator("#ride-state")).to_have_text("Tu viaje: taxi o viaje compartido")
