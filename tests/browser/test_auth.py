"""Sign up, the first-run screen and sign in, through the forms a patient uses."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, expect

from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.live_server import LiveServer, signed_in_patient


async def test_sign_up_first_run_then_sign_in_again(context: BrowserContext, page: Page) -> None:
    email = unique_email()
    await page.goto("/signup")
    await page.get_by_label("What should we call you?").fill("Robin")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()

    await page.wait_for_url("**/welcome")
    await expect(page.get_by_role("heading", name="Welcome, Robin")).to_be_visible()
    # The browser's own zone (this context runs in New York) is offered.
    await expect(page.get_by_label("Your time zone")).to_have_value("America/New_York")
    await page.get_by_label("When should we remind you to check in?").fill("20:15")
    await page.get_by_label("Your clinic’s phone number").fill("+1 555 0142")
    await page.get_by_role("button", name="Next").click()
    # The other first-run steps (tests/browser/test_first_run.py), skipped here.
    await page.get_by_role("heading", name="Reminders on this phone").wait_for()
    await page.get_by_role("button", name="Skip", exact=True).click()
    await page.get_by_role("button", name="Skip: not planned yet").click()
    await page.get_by_role("link", name="Not now: go to Today").click()
    await page.wait_for_url(lambda url: url.endswith("/"))
    await expect(page.get_by_role("heading", name="How are you today?")).to_be_visible()
    me = await (await context.request.get("/api/v1/me")).json()
    assert (me["timezone"], me["clinic_phone"]) == ("America/New_York", "+1 555 0142")
    reminders = await (await context.request.get("/api/v1/me/reminders")).json()
    assert reminders["daily_checkin_time"] == "20:15"

    await context.clear_cookies()
    await page.goto("/login?next=/infusions")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url("**/infusions")


@pytest.fixture(scope="module")
async def returning(live: LiveServer) -> str:
    """The email of a patient who signs in again (one account for the tests below)."""
    email = unique_email()
    client = await signed_in_patient(live.url, email, PASSWORD)
    await client.aclose()
    return email


async def _sign_in_at(page: Page, path: str, email: str) -> str:
    """Sign in on the page at ``path``; the address the browser is sent to afterwards."""
    await page.goto(path)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url(lambda url: "/login" not in url)
    return page.url


@pytest.mark.parametrize(
    "next_page",
    [
        "/%5Cevil.example",  # `/\evil.example`: Chromium reads it as //evil.example
        "/%09/evil.example",  # a tab, which URL parsing drops: //evil.example
        "https://evil.example/",
        "//evil.example",
        "/%5C%5Cevil.example",
        "javascript:alert(1)",
    ],
)
async def test_signing_in_never_leaves_for_another_site(
    context: BrowserContext, page: Page, live: LiveServer, returning: str, next_page: str
) -> None:
    visited: list[str] = []

    async def elsewhere(route: Route) -> None:
        visited.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body="<h1>Not Afterglow</h1>")

    await context.route(re.compile(r"^https?://evil\.example"), elsewhere)
    assert await _sign_in_at(page, f"/login?next={next_page}", returning) == f"{live.url}/"
    assert visited == []


async def test_signing_in_returns_to_a_page_of_the_app_with_its_query(
    page: Page, live: LiveServer, returning: str
) -> None:
    landed = await _sign_in_at(page, "/login?next=%2Fhistory%3Fdays%3D90", returning)
    assert landed == f"{live.url}/history?days=90"


@pytest.fixture(scope="module")
def https_live(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app as deployed behind TLS: `__Host-csrftoken` and Secure cookies. Chromium keeps
    Secure cookies for http://127.0.0.1 (a secure context), so no certificate is needed."""
    env = {"AFTERGLOW_PUBLIC_URL": "https://afterglow.example"}
    with LiveServer(database_url, tmp_path_factory.mktemp("https"), env=env) as server:
        yield server


async def test_the_pages_send_the_host_only_csrf_cookie_over_https(
    browser: Browser, https_live: LiveServer
) -> None:
    context = await browser.new_context(base_url=https_live.url, timezone_id="America/New_York")
    try:
        page = await context.new_page()
        await page.goto("/signup")
        await page.get_by_label("What should we call you?").fill("Sasha")
        await page.get_by_label("Email").fill(unique_email())
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Create account").click()
        await page.wait_for_url("**/welcome")
        await page.get_by_label("When should we remind you to check in?").fill("08:45")
        await page.get_by_role("button", name="Next").click()
        await page.get_by_role("heading", name="Reminders on this phone").wait_for()
        names = {cookie["name"] for cookie in await context.cookies()}
        assert "__Host-csrftoken" in names and "csrftoken" not in names
        reminders = await (await context.request.get("/api/v1/me/reminders")).json()
        assert reminders["daily_checkin_time"] == "08:45"
    finally:
        await context.close()
