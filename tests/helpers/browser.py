"""What the browser tests share: Chromium's settings, a patient signed up in a browser context,
a month of history, waiting on pages, and reading what the server stored."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from playwright.async_api import BrowserContext, Page

from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.live_server import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
PHONE = {"width": 390, "height": 844}
# The README's screenshots are refreshed on request (UPDATE_SCREENSHOTS=1); an ordinary run
# writes its own under tests/artifacts/ so dates in the pictures do not churn the committed ones.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else ROOT / "tests" / "artifacts" / "screenshots"
)
CLINIC_PHONE = "+1 555 0100"
ZONE = "America/New_York"  # the zone of every patient sign_up makes, and of the browser


async def sign_up(context: BrowserContext, *, name: str = "Sam") -> dict[str, Any]:
    """Register a patient through the API with the context's own cookies (so the page is
    signed in too), the way the sign-up page does it."""
    await context.request.get("/healthz")
    token = await csrf(context)
    response = await context.request.post(
        "/api/v1/auth/register",
        data=json.dumps(
            {
                "email": unique_email(),
                "password": PASSWORD,
                "display_name": name,
                "timezone": ZONE,
            }
        ),
        headers={"content-type": "application/json", "x-csrf-token": token},
    )
    assert response.status == 201, await response.text()
    me: dict[str, Any] = await response.json()
    return me


async def csrf(context: BrowserContext) -> str:
    """The CSRF token: `__Host-csrftoken` when the app is served over HTTPS, else `csrftoken`."""
    names = ("__Host-csrftoken", "csrftoken")
    token: str = next(c["value"] for c in await context.cookies() if c["name"] in names)
    return token


async def seed_history(context: BrowserContext, days: int = 30) -> dict[str, Any]:
    """A month of a patient's log through one sync batch: a check-in a day, three infusions and
    weekly PHQ-9s (the first before the first infusion, so there is a baseline).

    Each entry is at noon on its local day, so it falls on that day ``back`` days before today
    whatever the time now and however many DST changes lie in between (``now - back days``
    lands on the day before or after when a change is within an hour of midnight now)."""
    now = datetime.now(UTC).replace(microsecond=0)
    zone = ZoneInfo(ZONE)
    today = now.astimezone(zone).date()

    def noon(back: int) -> datetime:
        return datetime.combine(today - timedelta(days=back), time(12), zone)

    changes: list[dict[str, Any]] = []

    def add(kind: str, data: dict[str, Any]) -> None:
        changes.append(
            {
                "kind": kind,
                "id": str(uuid.uuid4()),
                "op": "upsert",
                "updated_at": now.isoformat(),
                "data": data,
            }
        )

    for back in range(days - 1, 0, -1):
        moment = noon(back)
        infusion_wave = 2 * ((days - back) // 7)  # each weekly infusion lifts the mood a bit
        mood = min(10, 2 + infusion_wave + (back % 3 == 0))
        add("checkin", {"recorded_at": moment.isoformat(), "mood": mood, "side_effects": []})
    for back in (22, 15, 8):
        add(
            "infusion",
            {
                "scheduled_at": noon(back).isoformat(),
                "duration_minutes": 40,
                "status": "completed",
            },
        )
    for back, answers in (
        (40, [3, 3, 2, 2, 2, 2, 1, 1, 0]),
        (12, [2, 2, 1, 1, 1, 1, 1, 0, 0]),
        (5, [1, 1, 1, 1, 0, 1, 0, 0, 0]),
    ):
        moment = noon(back).isoformat()
        add("assessment", {"instrument": "phq9", "answers": answers, "taken_at": moment})
    response = await context.request.post(
        "/api/v1/sync",
        data=json.dumps({"changes": changes, "since": None}),
        headers={"content-type": "application/json", "x-csrf-token": await csrf(context)},
    )
    assert response.ok, await response.text()
    reply: dict[str, Any] = await response.json()
    assert {r["status"] for r in reply["results"]} == {"applied"}, reply["results"]
    return reply


# An init script: a push service that never answers (subscribe() stays pending), where
# tests.helpers.web_push.STUB_SUBSCRIBE mints a subscription.
STUB_SUBSCRIBE_NO_ANSWER = """
PushManager.prototype.subscribe = () => new Promise(() => {});
PushManager.prototype.getSubscription = async () => null;
"""


async def text_size(page: Page, pixels: int) -> None:
    """The browser's default text size, as a person sets it in the browser's settings (200% is
    32 px): DevTools' Page.setFontSizes, not CSS of the test's own."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Page.enable")
    await cdp.send("Page.setFontSizes", {"fontSizes": {"standard": pixels}})


REFLOW = """(width) => {
    const link = document.querySelector(".help-now");
    const help = link && link.getBoundingClientRect();
    const wide = [...document.querySelectorAll("body *")]
      .filter((el) => el.getBoundingClientRect().right > width + 0.5 && el.getClientRects().length)
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`);
    return {
      scrollWidth: document.documentElement.scrollWidth,
      help: help && [help.left, help.right, help.width],
      wide,
    };
}"""


async def reflow(page: Page, width: int) -> dict[str, Any]:
    """How the page fits ``width`` CSS px: the document's scroll width (not innerWidth: a mobile
    layout viewport widens to fit what overflows), where "Need help now" is (None on a page
    without it: the clinician's), and the first elements that stick out."""
    found: dict[str, Any] = await page.evaluate(REFLOW, width)
    return found


async def open_app(page: Page, path: str = "/") -> None:
    """Open a page and wait until the service worker controls it (the shell is precached)."""
    await page.goto(path)
    await page.wait_for_function(
        "() => navigator.serviceWorker.controller !== null", polling=100, timeout=15_000
    )


async def eventually(page: Page, expression: str, *, within: float = 15) -> Any:
    """Evaluate ``expression`` (may return a promise) until it is truthy; returns its value."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await page.evaluate(expression)
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never true: {expression}")
        await asyncio.sleep(0.1)


async def outbox_size(page: Page) -> int:
    size: int = await page.evaluate("self.Afterglow.pendingCount()")
    return size


class Db:
    """Read what the server stored, straight from PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self.url)
        await conn.set_type_codec(
            "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )
        return conn

    async def fetchval(self, sql: str, *args: Any) -> Any:
        conn = await self.connect()
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        conn = await self.connect()
        try:
            return await conn.fetchrow(sql, *args)
        finally:
            await conn.close()

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await self.connect()
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
