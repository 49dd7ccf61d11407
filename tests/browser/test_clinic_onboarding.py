"""The whole onboarding of a clinic, in real browsers against the real server and its worker:
the admin invites a nurse by email (a real SMTP server), the nurse joins from the link; the
nurse makes a patient invitation, which a patient opens on a phone, signs up through, consents
to, and appears in the clinic's list; the nurse books an infusion on the schedule and the
patient's reminders are planned for it; the patient asks for a follow-up appointment and sees
the clinic's reply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, expect

from server import db as server_db
from server.config import Settings
from server.services import passwords
from server.services.team import create_clinic
from server.store import users as user_store
from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.browser import PHONE, ZONE, Db
from tests.helpers.live_server import LiveServer
from tests.helpers.mail_server import MailServer, assert_neutral, link_in

TABLET = {"width": 800, "height": 1100}
AXE = Axe()


@pytest.fixture(scope="module")
def mailing(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app with its worker, mailing through the test's SMTP server."""
    with MailServer.running() as mail:
        server = LiveServer(
            database_url,
            tmp_path_factory.mktemp("clinic"),
            worker=True,
            env={"AFTERGLOW_SMTP_URL": mail.url},
        )
        server.mail = mail  # type: ignore[attr-defined]
        with server:
            yield server


async def _context(browser: Browser, base_url: str, viewport: dict[str, int]) -> BrowserContext:
    context = await browser.new_context(
        base_url=base_url,
        viewport=viewport,
        is_mobile=viewport == PHONE,
        has_touch=True,
        locale="en-US",
        timezone_id=ZONE,
        service_workers="block",
    )
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
async def contexts(browser: Browser, mailing: LiveServer) -> AsyncIterator[list[BrowserContext]]:
    made = [await _context(browser, mailing.url, v) for v in (TABLET, TABLET, PHONE)]
    yield made
    for each in made:
        await each.close()


async def _admin(database_url: str, settings: Settings) -> str:
    email = unique_email("admin")
    pool = await server_db.create_pool(database_url, settings, min_size=1, max_size=1)
    try:
        async with server_db.transaction(pool) as conn:
            admin = await user_store.create_user(
                conn,
                email=email,
                role="clinician",
                password_hash=await passwords.hash_password(PASSWORD),
                display_name="Alex Admin",
                timezone=ZONE,
            )
            await create_clinic(conn, "Riverside Clinic", admin, ["admin"])
    finally:
        await pool.close()
    return email


async def test_a_clinic_onboards_a_nurse_and_a_patient(
    contexts: list[BrowserContext],
    mailing: LiveServer,
    database_url: str,
    settings: Settings,
    db: Db,
    screenshots: Path,
) -> None:
    admin_ctx, nurse_ctx, phone = contexts
    mail: MailServer = mailing.mail  # type: ignore[attr-defined]
    admin_email = await _admin(database_url, settings)

    # The admin signs in and invites a nurse by email.
    admin = await admin_ctx.new_page()
    await admin.goto("/login")
    await admin.get_by_label("Email").fill(admin_email)
    await admin.get_by_label("Password").fill(PASSWORD)
    await admin.get_by_role("button", name="Sign in", exact=True).click()
    await admin.wait_for_url("**/clinician")
    await admin.goto("/clinic/members")
    nurse_email = unique_email("nurse")
    await admin.get_by_label("Email address").fill(nurse_email)
    await admin.locator(".invite-form").get_by_label("Nurse").check()
    await admin.get_by_role("button", name="Send the invitation").click()
    await expect(admin.get_by_text(nurse_email)).to_be_visible()

    [message] = await asyncio.to_thread(mail.wait_for, nurse_email)
    assert_neutral(message)
    nurse = await nurse_ctx.new_page()
    await nurse.goto(link_in(message))
    await nurse.get_by_label("Your name").fill("Nia Nurse")
    await nurse.get_by_label("Password").fill(PASSWORD)
    await nurse.get_by_role("button", name="Join").click()
    await nurse.wait_for_url("**/clinic")
    await expect(nurse.get_by_role("heading", name="Riverside Clinic")).to_be_visible()

    # The nurse makes a patient invitation; the patient opens it on a phone.
    await nurse.get_by_role("button", name="Make a patient invitation").click()
    link = await nurse.get_by_label("Invitation link").input_value()
    assert "/join#token=" in link
    await expect(nurse.get_by_role("img", name="QR code of the invitation link")).to_be_visible()
    patient = await phone.new_page()
    await patient.goto(link)
    await patient.get_by_role("button", name="Continue").click()
    await patient.wait_for_url("**/signup?next=/join")
    await patient.get_by_label("What should we call you?").fill("Pat Patient")
    await patient.get_by_label("Email").fill(unique_email())
    await patient.get_by_label("Password").fill(PASSWORD)
    await patient.locator("#signup-form button[type=submit]").click()
    await patient.wait_for_url("**/join")
    await patient.get_by_role("button", name="Continue").click()
    consent = patient.get_by_role("region", name="Share with Riverside Clinic")
    await expect(consent).to_contain_text("Front desk")
    await expect(consent).to_contain_text("your check-ins, questionnaires, notes and summary")
    width = await patient.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    await patient.screenshot(path=str(screenshots / "clinic-consent-phone.png"))
    await patient.get_by_role("button", name="I agree: share with Riverside Clinic").click()
    await patient.wait_for_url("**/sharing")
    await expect(patient.get_by_text("Riverside Clinic").first).to_be_visible()

    # Reminders are planned for a patient with a device: this phone's (headless Chromium
    # cannot subscribe without a push service, so the subscription is written as the app would).
    patient_id = await db.fetchval(
        "SELECT id FROM users WHERE display_name = 'Pat Patient' AND role = 'patient'"
    )
    await db.fetchval(
        """INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth)
           VALUES ($1, 'https://push.example.org/onboarding', 'k', 'a') RETURNING id""",
        patient_id,
    )

    # The patient is in the clinic's list; the nurse books an infusion.
    await nurse.goto("/clinic")
    await expect(nurse.get_by_role("link", name="Pat Patient")).to_be_visible()
    await nurse.goto("/clinic/schedule")
    # Within the planner's horizon (48 h) for both the day-before and the two-hours reminder.
    when = datetime.now(ZoneInfo(ZONE)) + timedelta(hours=30)
    day = when.date().isoformat()
    await nurse.get_by_label("Patient", exact=True).select_option(label="Pat Patient")
    await nurse.get_by_label("Day", exact=True).fill(day)
    await nurse.get_by_label("Time", exact=True).fill(f"{when:%H:%M}")
    await nurse.get_by_role("button", name="Book").click()
    await expect(nurse.get_by_text("Pat Patient · 40 min · planned")).to_be_visible()
    results = await AXE.run(nurse)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
    kinds = {
        r["kind"]
        for r in await db.fetch(
            "SELECT kind FROM push_outbox WHERE user_id = $1 AND kind LIKE 'infusion%'", patient_id
        )
    }
    assert {"infusion_day_before", "infusion_two_hours"} <= kinds

    # A follow-up request, answered by the clinic, and the reply on the patient's phone.
    await patient.goto("/requests")
    await expect(patient.get_by_text("Not for emergencies")).to_be_visible()
    await patient.get_by_label("A follow-up appointment").check()
    await patient.get_by_label("Your message").fill("Could I come in next week?")
    await patient.get_by_role("button", name="Send").click()
    await expect(patient.get_by_text("Could I come in next week?")).to_be_visible()
    await nurse.goto("/clinic/requests")
    await expect(nurse.get_by_text("Could I come in next week?")).to_be_visible()
    await nurse.get_by_label("Reply to the patient").fill("Tuesday at 9:00 works.")
    await nurse.get_by_label("Status").select_option("done")
    await nurse.get_by_role("button", name="Save").click()
    await patient.reload()
    await expect(patient.get_by_text("Nia Nurse replied: Tuesday at 9:00 works.")).to_be_visible()
    await patient.screenshot(path=str(screenshots / "clinic-requests-phone.png"))

    # The admin sets the clinic's phone: it wins over AFTERGLOW_CLINIC_PHONE on the patient's
    # crisis resources.
    await admin.goto("/clinic/settings")
    await admin.get_by_label("Phone number").fill("+1 555 0199")
    await admin.get_by_role("button", name="Save the settings").click()
    await admin.wait_for_url("**/clinic/settings?saved=1")
    await patient.goto("/")
    clinic_line = patient.locator("#red-flags [data-clinic-phone]")
    await expect(clinic_line).to_have_attribute("href", "tel:+15550199")

    # Every clinic page works at phone width (a nurse on a phone) and passes axe.
    for who, paths in (
        (nurse, ("/clinic", "/clinic/schedule", "/clinic/requests")),
        (admin, ("/clinic/members", "/clinic/settings")),
        (patient, ("/requests", "/sharing")),
    ):
        await who.set_viewport_size(PHONE)
        for path in paths:
            await who.goto(path)
            width = await who.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (path, width)
            results = await AXE.run(who)
            serious = [
                (v["id"], [n["target"] for n in v["nodes"]])
                for v in results.response["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            assert serious == [], (path, serious)
