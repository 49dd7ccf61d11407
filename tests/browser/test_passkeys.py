"""Passkeys in Chromium, through its virtual authenticator (DevTools WebAuthn domain: a
platform authenticator that keeps discoverable credentials and verifies its user): a patient
adds one on Settings, signs out and signs back in with it, no password typed; a clinician with
an authenticator app, whose password opens only the code step, signs in with a passkey and is
asked for no code.

WebAuthn refuses an IP address as the relying party, so this server is reached as
http://localhost:PORT (a secure context), its AFTERGLOW_PUBLIC_URL the same.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.browser import CLINIC_PHONE, PHONE, ZONE, Db, csrf, sign_up
from tests.helpers.live_server import LiveServer, create_clinician

AXE = Axe()


async def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violations (as tests/browser/test_pages.py asks)."""
    results = await AXE.run(page)
    bad = [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, bad


@pytest.fixture(scope="module")
def server(database_url: str, data_dir: Path) -> Iterator[LiveServer]:
    env = {"AFTERGLOW_CLINIC_PHONE": CLINIC_PHONE, "AFTERGLOW_CLINICIAN_MFA": "required"}
    with LiveServer(database_url, data_dir, env=env, host="localhost") as live:
        yield live


@pytest.fixture
async def phone(browser: Browser, server: LiveServer) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(
        base_url=server.url,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="en-US",
        timezone_id=ZONE,
    )
    context.set_default_timeout(15_000)
    yield context
    await context.close()


async def with_authenticator(context: BrowserContext) -> tuple[Page, Any]:
    """A page whose browser has a platform authenticator with fingerprint (or face) unlock, as
    a phone has; the DevTools session, to read what it keeps."""
    page = await context.new_page()
    devtools = await context.new_cdp_session(page)
    await devtools.send("WebAuthn.enable")
    added = await devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return page, (devtools, added["authenticatorId"])


async def credentials(authenticator: Any) -> list[dict[str, Any]]:
    devtools, authenticator_id = authenticator
    found = await devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    return list(found["credentials"])


async def post(context: BrowserContext, path: str, body: dict[str, Any] | None = None) -> Any:
    response = await context.request.post(
        path,
        data=json.dumps(body or {}),
        headers={"content-type": "application/json", "x-csrf-token": await csrf(context)},
    )
    assert response.ok, await response.text()
    return await response.json() if response.status != 204 else None


async def test_a_patient_adds_a_passkey_on_settings_and_signs_in_with_it(
    phone: BrowserContext, db: Db
) -> None:
    page, authenticator = await with_authenticator(phone)
    me = await sign_up(phone)
    await page.goto("/settings")
    section = page.locator("#passkeys")
    await expect(section.get_by_text("No passkey yet.")).to_be_visible()
    await section.get_by_label("Name").fill("Sam's phone")
    await section.get_by_role("button", name="Add a passkey").click()
    await expect(section.locator("#passkey-status")).to_have_text(
        "Passkey added. You can sign in with it now."
    )
    await expect(section.locator("#passkey-list li")).to_have_count(1)
    await expect(section.locator("#passkey-list")).to_contain_text("Sam's phone")
    [kept] = await credentials(authenticator)
    assert kept["isResidentCredential"] and kept["rpId"] == "localhost"
    await assert_accessible(page)

    await page.get_by_role("button", name="Sign out", exact=True).click()
    await page.wait_for_url("**/login")
    await page.get_by_role("button", name="Sign in with a passkey").click()
    await page.wait_for_url(lambda url: url.endswith("/"))
    signed_in = await phone.request.get("/api/v1/me")
    assert (await signed_in.json())["id"] == me["id"]
    how = await db.fetchval(
        """SELECT detail->>'with' FROM audit_events WHERE actor_id = $1 AND action = 'sign_in'
            ORDER BY id DESC LIMIT 1""",
        uuid.UUID(me["id"]),
    )
    assert how == "passkey"


async def test_a_clinicians_passkey_sign_in_asks_for_no_code(
    phone: BrowserContext, server: LiveServer, database_url: str
) -> None:
    email = unique_email("clinician")
    await create_clinician(database_url, email, PASSWORD)
    page, _ = await with_authenticator(phone)

    # Password, then (the clinic requires a second factor) an authenticator app, through the
    # API as the enrolment page would, then a passkey on the clinician's passkey page.
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url("**/mfa/setup")
    enrolment = await post(phone, "/api/v1/auth/mfa/totp")
    totp = pyotp.TOTP(enrolment["secret"])
    await post(phone, "/api/v1/auth/mfa/totp/confirm", {"code": totp.now()})
    await page.goto("/passkeys")
    await page.get_by_role("button", name="Add a passkey").click()
    await expect(page.locator("#passkey-list li")).to_have_count(1)
    await assert_accessible(page)
    await post(phone, "/api/v1/auth/logout")

    # The password alone now leads to the code step ...
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.locator("#code-form")).to_be_visible()
    # ... which a passkey passes at once; and on its own, from a fresh start, it asks for nothing.
    await page.locator("#code-form").get_by_role("button", name="Use a passkey instead").click()
    await page.wait_for_url("**/clinician")
    await post(phone, "/api/v1/auth/logout")
    await page.goto("/login")
    await page.get_by_role("button", name="Sign in with a passkey").click()
    await page.wait_for_url("**/clinician")
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert not await page.locator("#code-form").is_visible()
    patients = await phone.request.get("/api/v1/clinician/patients")
    assert patients.status == 200, await patients.text()
