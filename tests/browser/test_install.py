"""Installability: a manifest with reachable icons, and a service worker that controls the app."""

from __future__ import annotations

from playwright.async_api import BrowserContext, Page

from server.i18n import LANGUAGES
from tests.helpers.browser import open_app, png_size, sign_up


async def test_manifest_parses_and_its_icons_are_real_pngs(context: BrowserContext) -> None:
    response = await context.request.get("/manifest.webmanifest")
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = await response.json()
    assert manifest["name"] == "Afterglow" and manifest["short_name"]
    assert manifest["id"] == manifest["start_url"] == manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] and manifest["background_color"]
    sizes = set()
    for icon in manifest["icons"]:
        got = await context.request.get(icon["src"])
        assert got.status == 200, icon["src"]
        assert got.headers["content-type"] == "image/png"
        width, height = png_size(await got.body())
        assert icon["sizes"] == f"{width}x{height}"
        sizes.add((icon["sizes"], icon.get("purpose", "any")))
    assert {("192x192", "any"), ("512x512", "any")} <= sizes
    assert {("192x192", "maskable"), ("512x512", "maskable")} <= sizes


async def test_service_worker_activates_and_controls_the_app(
    context: BrowserContext, page: Page
) -> None:
    script = await context.request.get("/sw.js")
    assert script.headers["cache-control"] == "no-cache"
    assert script.headers["content-type"].startswith("text/javascript")
    await sign_up(context)
    await open_app(page, "/")
    state = await page.evaluate(
        """async () => {
            const registration = await navigator.serviceWorker.ready;
            return {
                scope: registration.scope,
                state: registration.active && registration.active.state,
                script: navigator.serviceWorker.controller.scriptURL,
                manifest: document.querySelector('link[rel=manifest]').href,
                caches: await caches.keys(),
            };
        }"""
    )
    assert state["scope"] == page.url.split("?")[0].rstrip("/") + "/"
    assert state["state"] == "activated"
    assert state["script"].endswith("/sw.js")
    assert state["manifest"].endswith("/manifest.webmanifest")
    # One shell of assets, and its pages once per language (issue 18); the language the phone's
    # person reads is kept beside them.
    shells = sorted(name for name in state["caches"] if name != "afterglow-meta")
    assert shells[0].startswith("afterglow-shell-")
    assert shells == [shells[0], *(f"{shells[0]}-{language}" for language in LANGUAGES)]


async def test_signed_out_visitors_are_sent_to_sign_in(page: Page) -> None:
    await page.goto("/")
    assert page.url.endswith("/login?next=/")
    await page.goto("/crisis")  # help never needs an account
    assert page.url.endswith("/crisis")
    assert await page.get_by_role("link", name="Call 988").count() >= 1
