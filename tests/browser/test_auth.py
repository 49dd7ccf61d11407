"""Sign up, the first-run screen and sign in, through the forms a patient uses."""

from __future__ import annotations

from playwright.async_api import BrowserContext, Page, expect

from tests.helpers.accounts import PASSWORD, unique_email


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
    await page.get_by_role("button", name="Start").click()
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
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/infusions")
