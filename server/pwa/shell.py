"""The installable shell: the web app manifest and the service worker with its precache list.

The service worker precaches the app shell: static assets and the pages that carry no patient
data (they render from the device's IndexedDB). Its version is a hash of everything it
precaches, so any change to a template or an asset installs a new worker, which drops the old
cache on activation.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from litestar import Response, get

from server.api import AppSettings
from server.config import Settings

ROOT = Path(__file__).resolve().parent.parent.parent
STATIC_DIR = ROOT / "static"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# Pages without patient data, identical for every user: safe to precache and serve offline.
SHELL_PAGES = (
    "/",
    "/assess/phq9",
    "/assess/gad7",
    "/infusions",
    "/settings",
    "/crisis",
    "/offline",
)
# What the shell pages need offline. Install-only icons stay out to keep the shell small.
SHELL_ASSETS = (
    "css/app.css",
    *(
        f"js/{name}.js"
        for name in ("store", "app", "today", "assess", "infusions", "settings", "history")
    ),
    "icons/icon-192.png",
    "icons/maskable-192.png",
)
PRECACHE_MARKER = "[/* PRECACHE */]"
VERSION_MARKER = '"dev"'
NO_CACHE = {"Cache-Control": "no-cache"}

MANIFEST: dict[str, Any] = {
    "name": "Afterglow",
    "short_name": "Afterglow",
    "description": "Log your mood and side effects between infusions, in a few seconds.",
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
        {"name": "Check in", "url": "/"},
        {"name": "PHQ-9", "url": "/assess/phq9"},
        {"name": "Help now", "url": "/crisis"},
    ],
}


def precache_assets() -> list[str]:
    return [f"/static/{name}" for name in SHELL_ASSETS]


def shell_version(settings: Settings) -> str:
    """Changes whenever anything the worker precaches could change."""
    if settings.env == "dev":
        return _version(settings.clinic_phone or "")
    return _cached_version(settings.clinic_phone or "")


@lru_cache(maxsize=4)
def _cached_version(clinic_phone: str) -> str:
    return _version(clinic_phone)


def _version(clinic_phone: str) -> str:
    digest = hashlib.sha256(clinic_phone.encode())
    sources = [
        STATIC_DIR / "sw.js",
        *(STATIC_DIR / p.removeprefix("/static/") for p in precache_assets()),
    ]
    sources += sorted(TEMPLATES_DIR.rglob("*.html"))
    for path in sources:
        digest.update(path.as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def service_worker_source(settings: Settings) -> str:
    source = (STATIC_DIR / "sw.js").read_text()
    precache = [*SHELL_PAGES, "/manifest.webmanifest", *precache_assets()]
    return source.replace(PRECACHE_MARKER, json.dumps(precache), 1).replace(
        VERSION_MARKER, json.dumps(shell_version(settings)), 1
    )


@get("/sw.js", include_in_schema=False, cache=False)
async def service_worker(settings: AppSettings) -> Response[str]:
    """Served from the root so its scope is the whole app; no-cache so updates are seen."""
    return Response(
        service_worker_source(settings),
        media_type="text/javascript",
        headers={**NO_CACHE, "Service-Worker-Allowed": "/"},
    )


@get("/manifest.webmanifest", include_in_schema=False)
async def manifest() -> Response[bytes]:
    return Response(
        json.dumps(MANIFEST).encode(),
        media_type="application/manifest+json",
        headers=NO_CACHE,
    )


SHELL_ROUTES = [service_worker, manifest]
