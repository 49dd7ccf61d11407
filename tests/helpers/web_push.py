"""Web push in headless Chromium, which has no push service: ``pushManager.subscribe()`` is
stubbed with a subscription minted by the local test push service, and a push is handed to the
real service worker with the DevTools command ``ServiceWorker.deliverPushMessage``."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import BrowserContext, Page

from tests.helpers.live_server import LiveServer

# An init script: `%s` is the minted subscription's JSON.
STUB_SUBSCRIBE = """
(() => {
  const minted = %s;
  let current = null;
  const toBase64Url = (key) => btoa(String.fromCharCode(...new Uint8Array(key)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  PushManager.prototype.subscribe = async function (options) {
    window.__applicationServerKey = toBase64Url(options.applicationServerKey);
    current = {
      endpoint: minted.endpoint,
      expirationTime: null,
      toJSON: () => ({ endpoint: minted.endpoint, expirationTime: null, keys: minted.keys }),
      unsubscribe: async () => { current = null; return true; },
    };
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();
"""

# For page.evaluate: the notifications the service worker shows.
NOTIFICATIONS = """async () => (await (await navigator.serviceWorker.ready).getNotifications())
    .map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data,
                   actions: n.actions.map((a) => a.title) }))"""


async def deliver_push(context: BrowserContext, page: Page, live: LiveServer, data: str) -> None:
    """Hand a (decrypted) push message to the app's service worker, as the browser would."""
    cdp = await context.new_cdp_session(page)
    found: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def updated(event: dict[str, Any]) -> None:
        for registration in event["registrations"]:
            if registration["scopeURL"] == f"{live.url}/" and not found.done():
                found.set_result(registration["registrationId"])

    cdp.on("ServiceWorker.workerRegistrationUpdated", updated)
    await cdp.send("ServiceWorker.enable")
    registration = await asyncio.wait_for(found, 10)
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live.url, "registrationId": registration, "data": data},
    )


async def tap_notification(context: BrowserContext) -> None:
    """A tap on the first notification shown: headless Chromium cannot click one and a page
    cannot dispatch a NotificationEvent, so the service worker's handler is run in the worker."""
    workers = context.service_workers
    worker = workers[0] if workers else await context.wait_for_event("serviceworker")
    await worker.evaluate(
        """async () => {
            const [notification] = await self.registration.getNotifications();
            self.dispatchEvent(new NotificationEvent("notificationclick", { notification }));
        }"""
    )
