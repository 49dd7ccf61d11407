"""The patient app's HTTP side: shell pages carry no patient data and may be precached, the
service worker and manifest headers, and who is sent to sign in."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from server.i18n import LANGUAGES
from server.pwa.shell import SHELL_PAGES
from tests.helpers.accounts import register

NAVIGATE = {"sec-fetch-mode": "navigate"}
PRECACHE = {"sec-fetch-mode": "cors"}  # how the service worker fetches the shell


async def test_signed_out_navigation_goes_to_sign_in(client_factory: Any) -> None:
    client = client_factory()
    for path in ("/", "/settings", "/assess/phq9", "/history", "/welcome"):
        response = await client.get(path, headers=NAVIGATE)
        assert response.status_code in (302, 303), path
        assert response.headers["location"].startswith("/login?next=")
    for path in ("/login", "/signup", "/crisis", "/offline"):
        assert (await client.get(path, headers=NAVIGATE)).status_code == 200, path


async def test_the_page_to_return_to_is_one_encoded_value(client_factory: Any) -> None:
    """A crafted link cannot add a `next` of its own to the sign-in redirect."""
    client = client_factory()
    response = await client.get("/assess/x%26next=%5C%5Cevil.example", headers=NAVIGATE)
    assert response.status_code in (302, 303)
    location = urlsplit(response.headers["location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/assess/x&next=\\\\evil.example"]}


async def test_shell_pages_are_the_same_for_everyone_with_the_same_language(
    client_factory: Any, patient: Any
) -> None:
    """What the worker precaches must not depend on who is signed in: the worker keeps one
    shell per language (`?lang=`), the same for everyone who reads it (issue 18)."""
    anonymous = client_factory()
    spanish = client_factory()
    await register(spanish, language="es")
    for path, language in itertools.product(SHELL_PAGES, LANGUAGES):
        url = f"{path}?lang={language}"
        mine = await patient.get(url, headers=PRECACHE)
        theirs = await anonymous.get(url, headers={**PRECACHE, "accept-language": "es, en"})
        others = await spanish.get(url, headers=PRECACHE)
        assert mine.status_code == theirs.status_code == others.status_code == 200, url
        assert mine.text == theirs.text == others.text, url
        assert f'<html lang="{language}">' in mine.text, url
        assert patient.me["email"] not in mine.text
        assert mine.headers["cache-control"] == "no-store"
        assert mine.headers["content-type"].startswith("text/html")
        assert "<script>" not in mine.text and "style=" not in mine.text  # the CSP forbids both
        assert 'href="/crisis"' in mine.text  # "Need help now" on every page


async def test_history_shows_only_the_patients_own_data(patient: Any) -> None:
    response = await patient.get("/history?days=90", headers=NAVIGATE)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "Mood, last 90 days" in response.text
    assert (await patient.get("/history?days=7", headers=NAVIGATE)).text.count("last 30 days")


async def test_service_worker_and_manifest(client_factory: Any) -> None:
    client = client_factory()
    worker = await client.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["cache-control"] == "no-cache"
    assert worker.headers["content-type"].startswith("text/javascript")
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", worker.text).group(1))
    assert set(SHELL_PAGES) <= set(precache)
    assert "/static/js/store.js" in precache and "/static/css/app.css" in precache
    for url in precache:
        assert (await client.get(url, headers=PRECACHE)).status_code == 200, url
    version = re.search(r'const VERSION = "([0-9a-f]{16})";', worker.text)
    assert version, "the server stamps a content version into the worker"
    static = await client.get("/static/css/app.css")
    assert static.headers["cache-control"] == "no-cache"
    manifest = await client.get("/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json()["start_url"] == "/"


async def test_unknown_questionnaire_is_404(patient: Any) -> None:
    assert (await patient.get("/assess/beck", headers=NAVIGATE)).status_code == 404
