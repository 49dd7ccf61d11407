"""Two-step sign-in in Chromium, where clinicians must have it (AFTERGLOW_CLINICIAN_MFA=
required): a clinician signs in with the password, is sent to set up an authenticator app,
scans the QR code (here: reads the key shown beside it, as an app would from the code), types
the app's code, keeps the recovery codes, and sees the patient list; then signs in again on
another computer with the password and the next code."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pyotp
import pytest
import segno
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.live_server import LiveServer, create_clinician
from tests.helpers.second_factor import code_at, step_now

DESK = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def strict(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(
        database_url,
        tmp_path_factory.mktemp("strict"),
        env={"AFTERGLOW_CLINICIAN_MFA": "required"},
    ) as server:
        yield server


@pytest.fixture
async def desk(browser: Browser, strict: LiveServer) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(base_url=strict.url, viewport=DESK)
    context.set_default_timeout(15_000)
    yield context
    await context.close()


async def _password_step(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()


async def test_a_clinician_sets_up_an_app_and_signs_in_with_its_code(
    browser: Browser, desk: BrowserContext, strict: LiveServer, database_url: str
) -> None:
    email = unique_email("clinician")
    await create_clinician(database_url, email, PASSWORD, name="Dr. Okafor")
    page = await desk.new_page()

    await _password_step(page, email)
    await expect(page).to_have_url(f"{strict.url}/mfa/setup")
    await expect(page.get_by_text("Your clinic asks every clinician")).to_be_visible()
    await page.get_by_role("button", name="Set up").click()

    qr = page.locator("#totp-qr")
    await expect(qr).to_be_visible()
    source = await qr.get_attribute("src") or ""
    assert source.startswith("data:image/svg+xml")
    secret = (await page.locator("#totp-secret").inner_text()).strip()
    # The QR code holds the otpauth URI of the key shown beside it, as an app would read it.
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Afterglow")
    assert source == segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#000000")
    assert await page.evaluate("() => document.getElementById('totp-qr').naturalWidth") > 0

    await page.get_by_label("The 6-digit code the app shows now").fill(code_at(secret, step_now()))
    await page.get_by_role("button", name="Turn on two-step sign-in").click()
    codes = page.locator("#recovery-codes li")
    await expect(codes).to_have_count(10)
    await page.get_by_role("link", name="I have kept them").click()
    await expect(page).to_have_url(f"{strict.url}/clinician")
    await expect(page.get_by_role("heading", level=1)).to_be_visible()

    other = await browser.new_context(base_url=strict.url, viewport=DESK)
    try:
        laptop = await other.new_page()
        await _password_step(laptop, email)
        code = laptop.get_by_label("Code", exact=True)
        await expect(code).to_be_visible()
        await expect(laptop.locator("#login-form")).to_be_hidden()
        await code.fill("000000")
        await laptop.get_by_role("button", name="Continue").click()
        await expect(laptop.locator("#code-error")).to_contain_text("not right")
        await code.fill(code_at(secret, step_now() + 1))
        await laptop.get_by_role("button", name="Continue").click()
        await expect(laptop).to_have_url(f"{strict.url}/clinician")
    finally:
        await other.close()


async def test_a_page_reload_at_the_second_step_keeps_asking_for_the_code(
    desk: BrowserContext, strict: LiveServer, database_url: str
) -> None:
    """The password step is not asked again while the waiting sign-in lives."""
    email = unique_email("clinician")
    await create_clinician(database_url, email, PASSWORD)
    page = await desk.new_page()
    await _password_step(page, email)
    await expect(page).to_have_url(f"{strict.url}/mfa/setup")
    await page.get_by_role("button", name="Set up").click()
    secret = (await page.locator("#totp-secret").inner_text()).strip()
    await page.get_by_label("The 6-digit code the app shows now").fill(code_at(secret, step_now()))
    await page.get_by_role("button", name="Turn on two-step sign-in").click()
    await expect(page.locator("#recovery-codes li")).to_have_count(10)
    recovery = (await page.locator("#recovery-codes li").first.inner_text()).strip()

    await desk.clear_cookies()
    await _password_step(page, email)
    await expect(page.get_by_label("Code", exact=True)).to_be_visible()
    await page.goto("/clinician")  # sent back to sign in: the code step, not the password
    await expect(page).to_have_url(f"{strict.url}/login?next=/clinician")
    await expect(page.locator("#login-form")).to_be_hidden()
    await page.get_by_label("Code", exact=True).fill(recovery)
    await page.get_by_role("button", name="Continue").click()
    await expect(page).to_have_url(f"{strict.url}/clinician")
