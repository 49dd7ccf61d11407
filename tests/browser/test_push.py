"""Notifications in Chromium: headless Chromium has no push service, so
pushManager.subscribe() is stubbed with a subscription minted by the local test push service,
and a push is delivered to the real service worker with ServiceWorker.deliverPushMessage."""

from __future__ import annotations

import json
import uuid

import msgspec
from playwright.async_api import BrowserContext, Page, expect

from server.domain.reminders import PAYLOADS
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

    # The payload the reminder worker sends for the daily check-in, as a phone decrypts it.
    payload = msgspec.json.encode(PAYLOADS["daily_checkin"]).decode()
    await deliver_push(context, page, live, payload)
    [shown] = await eventually(page, NOTIFICATIONS)
    assert shown == {
        "title": "Afterglow",
        "body": "Time for your check-in",
        "tag": "daily",
        "data": {"url": "/?checkin"},
        "actions": ["Log now"],
    }

    # A tap on the notification: the open window moves to the URL the push named.
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
    finally:
        await iphone.close()


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
