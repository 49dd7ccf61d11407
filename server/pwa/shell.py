"""The installable shell: the web app manifest and the service worker with its precache list.

The service worker precaches the app shell: static assets and the pages that carry no patient
data (they render from the device's IndexedDB). Its version is a hash of everything it
precaches, so any change to a template, an asset or the lists here installs a new worker, which
drops the old cache on activation.

SHELL_PAGES is written here only: the server fills it into static/sw.js and static/js/app.js as
it serves them, in place of markers such as `[/* SHELL_PAGES */]` (an empty array, so the files
stay valid JavaScript as they are on disk).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from litestar import Request, Response, get, route
from litestar.enums import HttpMethod
from litestar.response.base import ASGIResponse

from server.config import Settings
from server.i18n import LANGUAGES, LOCALE_DIR, N_, Language, gettext, known, negotiate
from server.web import AppSettings

ROOT = Path(__file__).resolve().parent.parent.parent
STATIC_DIR = ROOT / "static"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# Pages without patient data, identical for every user who reads the same language: safe to
# precache (once per language, fetched with ?lang=) and serve offline.
SHELL_PAGES = (
    "/",
    "/assess/phq9",
    "/assess/gad7",
    "/infusions",
    "/settings",
    "/crisis",
    "/offline",
)
# Shell pages for anyone, signed out or a clinician: help must never need an account, and the
# offline page stands in for any page the phone cannot reach.
PUBLIC_SHELL_PAGES = ("/crisis", "/offline")
# The rest are the patient's own: there app.js asks the server who is signed in (and sends
# someone signed out to sign in), as the server does for a navigation to them.
PATIENT_SHELL_PAGES = tuple(page for page in SHELL_PAGES if page not in PUBLIC_SHELL_PAGES)
# What the shell pages need offline. Install-only icons stay out to keep the shell small.
SHELL_ASSETS = (
    "css/app.css",
    *(
        f"js/{name}.js"
        for name in (
            "store",
            "i18n",  # the scripts' messages (the catalogue itself: /i18n/<lang>.json)
            "app",
            "today",
            "assess",
            "infusions",
            "settings",
            "history",
            "push",  # imported by settings
            "offline",  # History's stand-in offline
            "passkeys",  # imported by settings
            "webauthn",
        )
    ),
    "icons/icon-192.png",
    "icons/maskable-192.png",
)
PRECACHE_MARKER = "[/* PRECACHE */]"
SHELL_PAGES_MARKER = "[/* SHELL_PAGES */]"
LANGUAGES_MARKER = "[/* LANGUAGES */]"
PATIENT_PAGES_MARKER = "[/* PATIENT_SHELL_PAGES */]"
VERSION_MARKER = '"dev"'
NO_CACHE = {"Cache-Control": "no-cache"}
# Static files the server fills in as it serves them: name under static/ -> {marker: value}.
FILLED: dict[str, dict[str, Any]] = {
    "js/app.js": {PATIENT_PAGES_MARKER: list(PATIENT_SHELL_PAGES)},
}

AnyRequest = Request[Any, Any, Any]

MANIFEST: dict[str, Any] = {
    "name": "Afterglow",
    "short_name": "Afterglow",
    "description": N_("Log your mood and side effects between infusions, in a few seconds."),
    "id": "/",
    "start_url": "/",
    "scope": "/",
    "display": "standalone",
    "background_color": "#1f2940",
    "theme_color": "#1f2940",
    "lang": "en",
    "categories": ["health", "medical"],
    "icons": [
        {"src": "/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png"},
        {
            "src": "/static/icons/maskable-192.png",
            "sizes": "192x192",
            "type": "image/png",
            "purpose": "maskable",
        },
        {
            "src": "/static/icons/maskable-512.png",
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
    ],
    "shortcuts": [
        {"name": N_("Check in"), "url": "/"},
        {"name": "PHQ-9", "url": "/assess/phq9"},
        {"name": N_("Help now"), "url": "/crisis"},
    ],
}


def precache_assets() -> list[str]:
    return [f"/static/{name}" for name in SHELL_ASSETS]


def precache_urls() -> list[str]:
    return [*SHELL_PAGES, "/manifest.webmanifest", *precache_assets()]


def _fill(name: str, source: str, values: dict[str, Any]) -> str:
    """`source` with each marker replaced by its value as JSON; a missing marker is an error, so
    a file edited without it fails loudly instead of shipping an empty list."""
    for marker, value in values.items():
        if source.count(marker) != 1:
            raise RuntimeError(f"{name} must contain {marker} exactly once")
        source = source.replace(marker, json.dumps(value))
    return source


def static_source(name: str) -> bytes:
    """A file under static/ as it is served: filled in when it is in FILLED, else as on disk."""
    path = STATIC_DIR / name
    if name not in FILLED:
        return path.read_bytes()
    return _fill(name, path.read_text(), FILLED[name]).encode()


def _worker_template() -> str:
    """sw.js with its lists filled in and the version still to stamp."""
    return _fill(
        "sw.js",
        (STATIC_DIR / "sw.js").read_text(),
        {
            PRECACHE_MARKER: precache_urls(),
            SHELL_PAGES_MARKER: list(SHELL_PAGES),
            LANGUAGES_MARKER: list(LANGUAGES),
        },
    )


def shell_version(settings: Settings) -> str:
    """Changes whenever anything the worker precaches could change."""
    if settings.env == "dev":
        return _version(settings.clinic_phone or "")
    return _cached_version(settings.clinic_phone or "")


@lru_cache(maxsize=4)
def _cached_version(clinic_phone: str) -> str:
    return _version(clinic_phone)


def _version(clinic_phone: str) -> str:
    # Files as served, so the lists filled in from here count as much as the files' own text.
    digest = hashlib.sha256(clinic_phone.encode())
    digest.update(_worker_template().encode())
    for name in SHELL_ASSETS:
        digest.update(name.encode())
        digest.update(static_source(name))
    for path in [*sorted(TEMPLATES_DIR.rglob("*.html")), *sorted(LOCALE_DIR.rglob("*.po"))]:
        digest.update(path.as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def service_worker_source(settings: Settings) -> str:
    return _worker_template().replace(VERSION_MARKER, json.dumps(shell_version(settings)), 1)


@get("/sw.js", include_in_schema=False, cache=False)
async def service_worker(settings: AppSettings) -> Response[str]:
    """Served from the root so its scope is the whole app; no-cache so updates are seen."""
    return Response(
        service_worker_source(settings),
        media_type="text/javascript",
        headers={**NO_CACHE, "Service-Worker-Allowed": "/"},
    )


def app_script_source(settings: Settings) -> tuple[bytes, str]:
    """static/js/app.js as served, and its ETag."""
    if settings.env == "dev":
        return _app_script()
    return _cached_app_script()


def _app_script() -> tuple[bytes, str]:
    body = static_source("js/app.js")
    return body, f'"{hashlib.sha256(body).hexdigest()[:16]}"'


@lru_cache(maxsize=1)
def _cached_app_script() -> tuple[bytes, str]:
    return _app_script()


@route(
    "/static/js/app.js",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    include_in_schema=False,
    cache=False,
)
async def app_script(request: AnyRequest, settings: AppSettings) -> ASGIResponse:
    """The one static file that carries a list from here; this exact path is matched before the
    static files router, and answers as it would: no-cache, revalidated by its ETag."""
    body, etag = app_script_source(settings)
    headers = {
        **NO_CACHE,
        "etag": etag,
        "content-type": "text/javascript; charset=utf-8",
        "content-length": str(len(body)),
    }
    asked = {
        tag.strip().removeprefix("W/")
        for tag in request.headers.get("if-none-match", "").split(",")
    }
    if etag in asked or "*" in asked:
        del headers["content-length"]
        return ASGIResponse(status_code=304, headers=headers)
    return ASGIResponse(
        body=b"" if request.method == HttpMethod.HEAD else body,
        headers=headers,
        is_head_response=request.method == HttpMethod.HEAD,
    )


def manifest_in(language: Language) -> dict[str, Any]:
    """The manifest in ``language``: its words translated, ``lang`` set; the rest the same."""
    return {
        **MANIFEST,
        "lang": language,
        "description": gettext(language, MANIFEST["description"]),
        "shortcuts": [{**s, "name": gettext(language, s["name"])} for s in MANIFEST["shortcuts"]],
    }


@get("/manifest.webmanifest", include_in_schema=False)
async def manifest(request: AnyRequest) -> Response[bytes]:
    """In the reader's language: ``?lang=``, else the browser's ``Accept-Language`` (the browser
    fetches it without the session, and the service worker precaches it the same way)."""
    language = known(request.query_params.get("lang")) or negotiate(
        request.headers.get("accept-language")
    )
    return Response(
        json.dumps(manifest_in(language)).encode(),
        media_type="application/manifest+json",
        headers={**NO_CACHE, "Content-Language": language},
    )


SHELL_ROUTES = [service_worker, app_script, manifest]
