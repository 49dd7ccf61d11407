"""A forgotten password, the way a patient gets back in: "Forgot your password?" on the sign-in
page, the link in the email (sent by the server's own worker through a real SMTP server), a new
password on /reset, and signing in with it. And on Settings: changing the password, and signing
out everywhere."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, expect

from tests.helpers.accounts import PASSWORD
from tests.helpers.browser import PHONE, ZONE, csrf, open_app, sign_up
from tests.helpers.live_server import LiveServer
from tests.helpers.mail_server import MailServer, assert_neutral, link_in

NEW_PASSWORD = "a passphrase I will remember"
AXE = Axe()


@pytest.fixture(scope="module")
def mailing(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app with its worker, mailing through the test's SMTP server."""
    with MailServer.running() as mail:
        server = LiveServer(
            database_url,
            tmp_path_factory.mktemp("mailing"),
            worker=True,
            env={"AFTERGLOW_SMTP_URL": mail.url},
        )
        server.mail = mail  # type: ignore[attr-defined]
        with server:
            yield server


@pytest.fixture
async def phone(browser: Browser, mailing: LiveServer) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(
        base_url=mailing.url,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="en-US",
        timezone_id=ZONE,
        service_workers="allow",
    )
    context.set_default_timeout(15_000)
    yield context
    await context.close()


def _mail(server: LiveServer) -> MailServer:
    mail: MailServer = server.mail  # type: ignore[attr-defined]
    return mail


async def test_forgot_password_mail_link_reset_then_sign_in(
    phone: BrowserContext, mailing: LiveServer, screenshots: Path
) -> None:
    me = await sign_up(phone)
    await phone.clear_cookies()
    page = await phone.new_page()
    await page.goto("/login")
    await page.get_by_role("link", name="Forgot your password?").click()
    await page.wait_for_url("**/forgot")
    await page.get_by_label("Email").fill(me["email"])
    await page.get_by_role("button", name="Email me a link").click()
    await expect(page.get_by_role("status")).to_contain_text("If an account uses this address")

    [message] = await asyncio.to_thread(_mail(mailing).wait_for, me["email"])
    assert_neutral(message)
    link = link_in(message)
    assert link.startswith(f"{mailing.url}/reset#token=")

    await page.goto(link)
    await expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert "#" not in page.url  # the token is out of the address bar and history
    await page.get_by_label("New password").fill(NEW_PASSWORD)
    await page.screenshot(path=str(screenshots / "reset-password.png"))
    await page.get_by_role("button", name="Save the new password").click()
    await page.wait_for_url("**/login?reset=1")
    await expect(page.get_by_role("status")).to_have_text(
        "Your password is changed. Sign in with the new one."
    )

    await page.get_by_label("Email").fill(me["email"])
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    await page.get_by_label("Password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url(lambda url: url.endswith("/"))
    await expect(page.get_by_role("heading", name="How are you today?")).to_be_visible()

    # The link worked once.
    again = await phone.new_page()
    await again.goto(link)
    await again.get_by_label("New password").fill("one more passphrase")
    await again.get_by_role("button", name="Save the new password").click()
    await expect(again.get_by_role("alert")).to_contain_text("expired or has already been used")


async def test_change_password_and_sign_out_everywhere_on_settings(
    phone: BrowserContext,
) -> None:
    page = await phone.new_page()
    me = await sign_up(phone)
    await open_app(page, "/settings")
    await page.get_by_label("Current password").fill("not my password")
    await page.get_by_label("New password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator("#password-error")).to_have_text("The current password is incorrect.")
    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator("#password-status")).to_have_text(
        "Password changed. Every other device was signed out."
    )
    assert (await phone.request.get("/api/v1/me")).status == 200  # this one stays signed in

    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.get_by_role("button", name="Sign out everywhere").click()
    await page.wait_for_url("**/login")
    assert (await phone.request.get("/api/v1/me")).status == 401
    signed_in = await phone.request.post(
        "/api/v1/auth/login",
        data={"email": me["email"], "password": NEW_PASSWORD},
        headers={"x-csrf-token": await csrf(phone)},
    )
    assert signed_in.status == 200


async def test_the_pages_of_getting_in_by_email_are_accessible(phone: BrowserContext) -> None:
    page = await phone.new_page()
    for path in ("/forgot", "/reset", "/verify", "/dev/mail"):
        await page.goto(path)
        await page.wait_for_load_state("networkidle")
        results = await AXE.run(page)
        bad = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"{path}: {bad}"
    await page.goto("/verify")
    await expect(page.get_by_role("alert")).to_have_text("This page needs the link from the email.")
