"""The clinician's alerts in Chromium: "Notify me on this device" subscribes the clinician's
browser like the patient's Settings does (the subscription stubbed with one minted by the local
push service), the alert's push is shown by the service worker without a word about health and
a tap opens the patient list, where the alert is acknowledged with its button."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
from playwright.async_api import BrowserContext, Page, expect

from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.browser import Db, csrf, eventually
from tests.helpers.live_server import LiveServer, create_clinician, signed_in_patient
from tests.helpers.push_service import PushService
from tests.helpers.web_push import NOTIFICATIONS, STUB_SUBSCRIBE, deliver_push, tap_notification


async def sign_in(context: BrowserContext, email: str) -> None:
    await context.request.get("/healthz")
    response = await context.request.post(
        "/api/v1/auth/login",
        data=json.dumps({"email": email, "password": PASSWORD}),
        headers={"content-type": "application/json", "x-csrf-token": await csrf(context)},
    )
    assert response.status == 200, await response.text()


async def test_a_clinician_is_notified_on_their_device_and_acknowledges_the_alert(
    context: BrowserContext, page: Page, db: Db, live: LiveServer, database_url: str
) -> None:
    email = unique_email("clinician")
    await create_clinician(database_url, email, PASSWORD, "Dr. Notify")
    clinician_id = await db.fetchval("SELECT id FROM users WHERE email = $1", email)
    patient: httpx.AsyncClient = await signed_in_patient(live.url, unique_email(), PASSWORD)
    try:
        async with PushService() as service:
            minted = service.subscribe()
            await context.grant_permissions(["notifications"], origin=live.url)
            await context.add_init_script(STUB_SUBSCRIBE % json.dumps(minted.as_json()))
            await sign_in(context, email)
            await page.goto("/clinician")

            state = page.locator("#notify-state")
            await expect(state).to_contain_text("Alerts reach you by email.")
            await page.get_by_role("button", name="Notify me on this device").click()
            await expect(page.locator("#notify-status")).to_have_text(
                "Notifications are on for this device."
            )
            await expect(state).to_contain_text("Alerts are shown on this device")
            stored = await db.fetch(
                "SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1",
                clinician_id,
            )
            assert [tuple(r) for r in stored] == [(minted.endpoint, minted.p256dh, minted.auth)]

        # The patient shares and answers item 9 above 0: the alert's push is queued for the
        # clinician, as the worker will send it.
        code = (await patient.post("/api/v1/shares")).json()["code"]
        accepted = await context.request.post(
            "/api/v1/shares/accept",
            data=json.dumps({"code": code}),
            headers={"content-type": "application/json", "x-csrf-token": await csrf(context)},
        )
        assert accepted.status == 200, await accepted.text()
        answered = await patient.put(
            f"/api/v1/assessments/{uuid.uuid4()}",
            json={
                "instrument": "phq9",
                "answers": [2, 2, 2, 1, 1, 1, 1, 1, 1],
                "taken_at": datetime.now(UTC).isoformat(),
            },
        )
        assert answered.status_code in (200, 201), answered.text
        payload = await db.fetchval(
            """SELECT payload::text FROM push_outbox
                WHERE user_id = $1 AND kind = 'patient_attention'""",
            clinician_id,
        )
        await page.goto("/clinician/accept")
        await deliver_push(context, page, live, payload)
        [shown] = await eventually(page, NOTIFICATIONS)
        assert shown == {
            "title": "Afterglow",
            "body": "A patient who shares with you needs your attention. Open Afterglow to see it.",
            "tag": "patient-attention",
            "data": {"url": "/clinician"},
            "actions": ["Open"],
        }

        await tap_notification(context)
        await page.wait_for_url("**/clinician")
        alerts = page.locator("#alerts")
        await expect(alerts).to_contain_text("PHQ-9 item 9")
        await expect(alerts).to_contain_text("answered 1 of 3")
        await alerts.get_by_label("Note for yourself (optional)").fill("Called, safe for now")
        await alerts.get_by_role("button", name="Acknowledge").click()
        await page.wait_for_url("**/clinician#alerts")
        await expect(alerts).to_contain_text("No open alerts.")
        assert (
            await db.fetchval(
                "SELECT note FROM alerts WHERE clinician_id = $1 AND acknowledged_at IS NOT NULL",
                clinician_id,
            )
            == "Called, safe for now"
        )

        # The stub forgets its subscription with each page: subscribe this page again (the
        # server refreshes the same device), then turn it off.
        await page.get_by_role("button", name="Notify me on this device").click()
        await expect(state).to_contain_text("Alerts are shown on this device")
        await page.get_by_role("button", name="Stop notifications on this device").click()
        await expect(page.locator("#notify-status")).to_have_text(
            "Notifications are off for this device."
        )
        assert (
            await db.fetchval(
                "SELECT count(*) FROM push_subscriptions WHERE user_id = $1", clinician_id
            )
            == 0
        )
    finally:
        await patient.aclose()
