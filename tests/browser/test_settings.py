"""Settings: reminders and the clinic's phone are saved; signing out leaves nothing of the
patient on the phone for the next person; deleting the account needs a clear confirmation."""

from __future__ import annotations

import uuid

from playwright.async_api import BrowserContext, Page, expect

from tests.helpers.accounts import PASSWORD
from tests.helpers.browser import Db, open_app, sign_up


async def test_reminders_and_clinic_phone_are_saved(context: BrowserContext, page: Page) -> None:
    await sign_up(context)
    await open_app(page, "/settings")
    await page.get_by_label("Time of the daily reminder").fill("08:30")
    await page.get_by_label("Weekly PHQ-9 reminder").uncheck()
    await page.get_by_label("Two hours before").uncheck()
    await page.get_by_role("button", name="Save reminders").click()
    await expect(page.locator("#reminders-status")).to_have_text("Reminders saved")
    saved = await (await context.request.get("/api/v1/me/reminders")).json()
    assert saved["daily_checkin_time"] == "08:30"
    assert saved["weekly_phq9_day"] is None and saved["weekly_phq9_time"] is None
    assert saved["infusion_two_hours"] is False and saved["infusion_day_before"] is True

    await page.get_by_label("Clinic phone").fill("+1 555 0199")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator("#profile-status")).to_have_text("Saved")
    export = page.get_by_role("link", name="Export my data")
    assert await export.get_attribute("href") == "/api/v1/me/export"
    assert (await context.request.get("/api/v1/me/export")).status == 200
    # The crisis page is precached with the clinic-wide number; the patient's own one wins.
    await context.set_offline(True)
    await page.goto("/crisis")
    clinic = page.get_by_role("link", name="Call your clinic")
    await expect(clinic).to_have_attribute("href", "tel:+15550199")


async def test_sign_out_leaves_nothing_for_the_next_person(
    context: BrowserContext, page: Page
) -> None:
    await sign_up(context, name="First")
    await open_app(page, "/")
    await page.get_by_role("radio", name="4", exact=True).tap()
    await page.get_by_role("button", name="Save check-in").tap()
    await expect(page.locator("#save-status")).to_have_text("Saved and synced")

    await page.goto("/settings")
    await page.get_by_role("button", name="Sign out", exact=True).click()
    await page.wait_for_url("**/login")
    assert await page.evaluate("self.Afterglow.records('checkin')") == []
    assert await page.evaluate("self.Afterglow.getMeta('account')") is None
    caches = await page.evaluate("caches.keys()")
    assert all(name.startswith("afterglow-shell-") for name in caches)

    await page.goto("/")  # the shell is cached, but nobody is signed in here now
    await page.wait_for_url("**/login?next=%2F")
    await sign_up(context, name="Second")
    await page.goto("/")
    await expect(page.get_by_text("Nothing logged yet today.")).to_be_visible()
    await expect(page.locator("#today-entries > li")).to_have_count(0)


async def test_deleting_the_account_asks_first_then_erases_everything(
    context: BrowserContext, page: Page, db: Db
) -> None:
    me = await sign_up(context)
    await open_app(page, "/settings")
    await page.get_by_role("button", name="Delete my account").click()
    dialog = page.get_by_role("dialog", name="Delete your account?")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("cannot be undone")
    delete = dialog.get_by_role("button", name="Delete everything")
    await expect(delete).to_be_disabled()
    await dialog.get_by_role("button", name="Keep my account").click()
    await expect(dialog).to_be_hidden()
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", uuid.UUID(me["id"])) == 1

    await page.get_by_role("button", name="Delete my account").click()
    await dialog.get_by_label("I understand that all my data will be erased").check()
    # Deleting asks the owner to prove who they are again: a wrong password erases nothing.
    password = dialog.get_by_label("Your password, to confirm it is you")
    await password.fill("not my password at all")
    await delete.click()
    await expect(dialog.locator("#delete-error")).to_have_text("The password is incorrect.")
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", uuid.UUID(me["id"])) == 1
    await password.fill(PASSWORD)
    await delete.click()
    await page.wait_for_url("**/signup?deleted=1")
    await expect(
        page.get_by_text("Your account and all its data have been erased.")
    ).to_be_visible()
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", uuid.UUID(me["id"])) == 0


async def test_email_reminders_and_the_moods_of_the_notification_buttons_are_saved(
    context: BrowserContext, page: Page
) -> None:
    await sign_up(context)
    await open_app(page, "/settings")
    await expect(page.get_by_label("“Good day” saves mood")).to_have_value("7")
    await page.get_by_label("“Good day” saves mood").fill("8")
    await page.get_by_label("“Hard day” saves mood").fill("2")
    await page.get_by_label("Email me a reminder when no phone can be reached").check()
    await page.get_by_role("button", name="Save reminders").click()
    await expect(page.locator("#reminders-status")).to_have_text("Reminders saved")
    saved = await (await context.request.get("/api/v1/me/reminders")).json()
    assert (saved["good_day_mood"], saved["hard_day_mood"], saved["email_reminders"]) == (
        8,
        2,
        True,
    )
    # The service worker reads them on this phone, offline too, when a button is tapped.
    assert await page.evaluate("self.Afterglow.getMeta('moods')") == {"good": 8, "hard": 2}

    await page.get_by_label("“Hard day” saves mood").fill("11")
    await page.get_by_role("button", name="Save reminders").click()
    await expect(page.locator("#reminders-error")).to_contain_text("10")
