"""Notifications in Chromium: headless Chromium has no push service, so
pushManager.subscribe() is stubbed with a subscription minted by the local test push service,
and a push is delivered to the real service worker with ServiceWorker.deliverPushMessage."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from playwright.async_api import BrowserContext, Page, expect

from tests.helpers.browser import (
    PHONE,
    STUB_SUBSCRIBE_NO_ANSWER,
    Db,
    eventually,
    open_app,
    sign_up,
)
from tests.helpers.live_server import LiveServer
from tests.helpers.push_service import PushService
from tests.helpers.web_push import NOTIFICATIONS, STUB_SUBSCRIBE, deliver_push, tap_notification

NOT_ON = "Notifications are not turned on for this phone yet, so your reminders cannot reach it."


async def until(db: Db, sql: str, *args: Any, within: float = 15) -> Any:
    """``sql``'s value once it is truthy (what a service worker sends arrives on its own time)."""
    deadline = asyncio.get_running_loop().time() + within
    while not (value := await db.fetchval(sql, *args)):
        assert asyncio.get_running_loop().time() < deadline, f"never true: {sql}"
        await asyncio.sleep(0.1)
    return value


async def planned_reminder(db: Db, patient: uuid.UUID) -> tuple[uuid.UUID, str]:
    """The next daily reminder the planner queued for ``patient``: its id and its payload, as
    the push service hands it to the phone (tests/push/test_every_phone.py decrypts the same)."""
    row = await db.fetchrow(
        """SELECT reminder_id, payload::text AS payload FROM push_outbox
            WHERE user_id = $1 AND kind = 'daily_checkin' ORDER BY due_at LIMIT 1""",
        patient,
    )
    assert row is not None
    return row["reminder_id"], row["payload"]


async def with_notifications(
    context: BrowserContext, page: Page, live: LiveServer
) -> dict[str, Any]:
    """A patient whose phone turned notifications on in Settings (the local push service mints
    the subscription); their reminders are planned."""
    async with PushService() as service:
        minted = service.subscribe()
        me = await sign_up(context)
        await context.grant_permissions(["notifications"], origin=live.url)
        await context.add_init_script(STUB_SUBSCRIBE % json.dumps(minted.as_json()))
        await open_app(page, "/settings")
        await page.get_by_role("button", name="Turn on notifications").tap()
        await expect(page.locator("#push-status")).to_have_text(
            "Done: this phone will get your reminders."
        )
    return me


async def test_a_declarative_reminder_is_shown_with_its_own_words_and_reports_back(
    context: BrowserContext, page: Page, db: Db, live: LiveServer
) -> None:
    me = await with_notifications(context, page, live)
    patient = uuid.UUID(me["id"])
    reminder, payload = await planned_reminder(db, patient)
    sent = json.loads(payload)
    assert sent["web_push"] == 8030 and sent["notification"]["navigate"].endswith(f"r={reminder}")

    await deliver_push(context, page, live, payload)
    [shown] = await eventually(page, NOTIFICATIONS)
    assert shown == {
        "title": sent["notification"]["title"],
        "body": sent["notification"]["body"],
        "tag": sent["notification"]["tag"],
        "data": {"url": sent["notification"]["navigate"], "reminder": str(reminder)},
        "actions": ["Good day", "Hard day"],
    }
    device = await db.fetchval("SELECT id FROM push_subscriptions WHERE user_id = $1", patient)
    assert (
        await until(
            db,
            """SELECT count(*) FROM reminder_receipts WHERE user_id = $1 AND reminder_id = $2
             AND subscription_id = $3 AND event = 'shown'""",
            patient,
            reminder,
            device,
        )
        == 1
    )

    # A plain tap: Today, the mood scale focused (one tap from saving), "opened" reported.
    await tap_notification(context)
    await page.wait_for_url("**/?checkin")
    await expect(page.locator('input[name="mood"]').first).to_be_focused()
    assert (
        await until(
            db,
            """SELECT count(*) FROM reminder_receipts WHERE user_id = $1 AND reminder_id = $2
             AND event = 'opened'""",
            patient,
            reminder,
        )
        == 1
    )
    [counted] = await (await context.request.get("/api/v1/push/devices")).json()
    assert (counted["shown"], counted["opened"]) == (1, 1)
    await page.goto("/settings")
    await expect(page.locator("#device-list")).to_have_text(
        "This phone: delivered 0 · shown 1 · opened 1"  # the push above came from the test
    )


def shown_with_tag(tag: str) -> str:
    """For page.evaluate: the notifications shown with ``tag``, their bodies."""
    return f"""async () => (await (await navigator.serviceWorker.ready).getNotifications())
        .filter((n) => n.tag === {json.dumps(tag)}).map((n) => n.body)"""


# What the page does when the connection is back (the `online` event), spelled out.
SYNC_NOW = """() => self.Afterglow.sync(async () =>
    (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "")"""


async def act_on_notification(context: BrowserContext, action: str) -> None:
    """A tap on one of the notification's buttons (see tap_notification)."""
    worker = context.service_workers[0]
    await worker.evaluate(
        """async (action) => {
            const [notification] = (await self.registration.getNotifications())
                .filter((n) => n.tag === "daily");
            const event = new NotificationEvent("notificationclick", { notification, action });
            self.dispatchEvent(event);
        }""",
        action,
    )


async def test_a_notification_action_saves_one_check_in_through_the_outbox_also_offline(
    context: BrowserContext, page: Page, db: Db, live: LiveServer
) -> None:
    me = await with_notifications(context, page, live)
    patient = uuid.UUID(me["id"])
    reminder, payload = await planned_reminder(db, patient)
    checkins = "SELECT count(*) FROM checkins WHERE patient_id = $1"

    await deliver_push(context, page, live, payload)
    await eventually(page, NOTIFICATIONS)
    await context.set_offline(True)
    await act_on_notification(context, "good")
    saved = await eventually(page, shown_with_tag("saved"))
    assert saved == ["Saved on this phone. It will be sent when you are online."]
    await asyncio.sleep(1)
    assert await db.fetchval(checkins, patient) == 0  # offline: nothing reached the server

    await context.set_offline(False)
    await page.evaluate(SYNC_NOW)
    assert await until(db, checkins, patient) == 1
    row = await db.fetchrow("SELECT id, mood FROM checkins WHERE patient_id = $1", patient)
    assert (row["id"], row["mood"]) == (reminder, 7)  # the mood "Good day" stands for

    # The same reminder delivered again and its button tapped again: still one check-in.
    await page.evaluate(
        """async () => (await (await navigator.serviceWorker.ready).getNotifications())
            .forEach((n) => n.close())"""
    )
    await deliver_push(context, page, live, payload)
    await eventually(page, shown_with_tag("daily"))
    await act_on_notification(context, "hard")
    assert await eventually(page, shown_with_tag("saved")) == ["Saved. Thank you."]
    assert await db.fetchval(checkins, patient) == 1
    assert await db.fetchval("SELECT mood FROM checkins WHERE patient_id = $1", patient) == 3


async def test_subscribe_then_a_push_shows_a_notification_that_opens_the_app(
    context: BrowserContext, page: Page, db: Db, live: LiveServer
) -> None:
    async with PushService() as service:
        minted = service.subscribe()
        me = await sign_up(context)
        await context.grant_permissions(["notifications"], origin=live.url)
        await context.add_init_script(STUB_SUBSCRIBE % json.dumps(minted.as_json()))
        await open_app(page, "/settings")

        await expect(page.locator("#push-state")).to_have_text(NOT_ON)
        await page.get_by_role("button", name="Turn on notifications").tap()
        await expect(page.locator("#push-status")).to_have_text(
            "Done: this phone will get your reminders."
        )
        await expect(page.locator("#push-state")).to_have_text(
            "Notifications are on for this phone: your reminders arrive here."
        )
        public_key = await (await context.request.get("/api/v1/push/public-key")).json()
        assert await page.evaluate("window.__applicationServerKey") == public_key["public_key"]
        stored = await db.fetch(
            "SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1",
            uuid.UUID(me["id"]),
        )
        assert [tuple(r) for r in stored] == [(minted.endpoint, minted.p256dh, minted.auth)]

    # An alert-style flat payload ({title, body, url, tag}) still works: a tap on the
    # notification moves the open window to the URL the push named.
    flat = {
        "title": "Afterglow",
        "body": "Your weekly questionnaire is ready",
        "url": "/?checkin",
        "tag": "weekly",
    }
    await deliver_push(context, page, live, json.dumps(flat))
    [shown] = await eventually(page, NOTIFICATIONS)
    assert shown == {
        "title": "Afterglow",
        "body": "Your weekly questionnaire is ready",
        "tag": "weekly",
        "data": {"url": "/?checkin"},
        "actions": ["Open"],
    }
    await tap_notification(context)
    await page.wait_for_url("**/?checkin")
    await expect(page.get_by_role("heading", name="How are you today?")).to_be_visible()
    assert await page.evaluate(NOTIFICATIONS) == []


IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


async def test_iphone_safari_is_told_to_add_the_app_to_the_home_screen(
    context: BrowserContext, page: Page
) -> None:
    await sign_up(context)
    await page.goto("/settings")
    await expect(page.locator("#ios-hint")).to_be_hidden()
    iphone = await context.browser.new_context(  # type: ignore[union-attr]
        base_url=page.url.split("/settings")[0], user_agent=IPHONE_SAFARI, viewport=PHONE
    )
    try:
        phone = await iphone.new_page()
        await sign_up(iphone)
        await phone.goto("/settings")
        await expect(phone.locator("#ios-hint")).to_be_visible()
        await expect(phone.locator("#ios-hint")).to_contain_text("Add to Home Screen")
        # Explained first: notifications are not offered where Safari cannot show them.
        await expect(phone.get_by_role("button", name="Turn on notifications")).to_be_hidden()
        await phone.goto("/welcome")
        await phone.get_by_role("button", name="Skip").first.click()
        await expect(phone.locator("#welcome-ios-hint")).to_contain_text("Add to Home Screen")
        await expect(phone.locator("#welcome-push-on")).to_be_hidden()
    finally:
        await iphone.close()


async def test_after_adding_it_to_the_home_screen_the_first_run_offers_notifications_again(
    context: BrowserContext, page: Page
) -> None:
    await page.goto("/healthz")
    base = page.url.split("/healthz")[0]
    installed = await context.browser.new_context(  # type: ignore[union-attr]
        base_url=base, user_agent=IPHONE_SAFARI, viewport=PHONE
    )
    try:
        # Opened from the Home Screen: Safari says so with navigator.standalone.
        await installed.add_init_script(
            "Object.defineProperty(navigator, 'standalone', { get: () => true });"
        )
        app = await installed.new_page()
        await sign_up(installed)
        await app.goto("/")
        await app.wait_for_url("**/welcome#notify")
        await expect(app.get_by_role("heading", name="Reminders on this phone")).to_be_visible()
        await expect(app.locator("#welcome-ios-hint")).to_be_hidden()
        await expect(app.get_by_role("button", name="Turn on notifications")).to_be_visible()
        # Once: the next start opens Today as usual.
        await app.goto("/")
        await expect(app.get_by_role("heading", name="How are you today?")).to_be_visible()
        assert app.url.endswith("/")
    finally:
        await installed.close()


async def test_turning_on_says_each_step_and_when_the_push_service_does_not_answer(
    context: BrowserContext, page: Page, db: Db, live: LiveServer
) -> None:
    me = await sign_up(context)
    await context.grant_permissions(["notifications"], origin=live.url)
    await context.add_init_script(STUB_SUBSCRIBE_NO_ANSWER)
    await page.clock.install()
    await page.goto("/settings")
    # The reminders chosen above are ticked, and the card says they cannot reach this phone.
    await expect(page.get_by_label("Daily check-in reminder")).to_be_checked()
    await expect(page.locator("#push-state")).to_have_text(NOT_ON)

    turn_on = page.get_by_role("button", name="Turn on notifications")
    await turn_on.tap()
    status = page.locator("#push-status")
    await expect(status).to_have_text("Connecting to this phone’s push service…")
    await expect(turn_on).to_be_disabled()
    await page.clock.run_for(21_000)  # the push service never answers
    await expect(status).to_have_text(
        "Could not turn on notifications. "
        "The push service did not answer. Check the connection and try again."
    )
    await expect(turn_on).to_be_enabled()
    await expect(page.locator("#push-state")).to_have_text(NOT_ON)
    assert (
        await db.fetchval(
            "SELECT count(*) FROM push_subscriptions WHERE user_id = $1", uuid.UUID(me["id"])
        )
        == 0
    )


async def test_a_tap_on_a_declarative_notification_reports_opened_from_its_navigate_url(
    context: BrowserContext, page: Page, db: Db, live: LiveServer
) -> None:
    # Safari shows a declarative push itself and opens `navigate`: no service worker sees it.
    me = await with_notifications(context, page, live)
    patient = uuid.UUID(me["id"])
    reminder, payload = await planned_reminder(db, patient)
    await page.goto(json.loads(payload)["notification"]["navigate"])
    await page.wait_for_url("**/?checkin")  # the id leaves the address bar
    await expect(page.locator('input[name="mood"]').first).to_be_focused()
    device = await db.fetchval("SELECT id FROM push_subscriptions WHERE user_id = $1", patient)
    opened = """SELECT count(*) FROM reminder_receipts WHERE user_id = $1 AND reminder_id = $2
                  AND subscription_id = $3 AND event = 'opened'"""
    assert await until(db, opened, patient, reminder, device) == 1
    # "shown" is unknown for such a delivery: nothing says it was not.
    [counted] = await (await context.request.get("/api/v1/push/devices")).json()
    assert (counted["shown"], counted["opened"], counted["check_settings"]) == (None, 1, False)
