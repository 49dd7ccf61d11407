"""Compression (issue 19): brotli where the client accepts it, gzip otherwise, for pages, the API
and static files; never for a page that carries the CSRF token (BREACH); the service worker
keeps its no-cache."""

from __future__ import annotations

from typing import Any

import brotli

BR = {"Accept-Encoding": "gzip, br"}
GZIP = {"Accept-Encoding": "gzip"}


async def test_static_files_pages_and_the_api_are_compressed(patient: Any) -> None:
    css = await patient.get("/static/css/app.css", headers=BR)
    assert css.status_code == 200
    assert css.headers["content-encoding"] == "br"
    assert "accept-encoding" in css.headers["vary"].lower()
    assert css.headers["cache-control"] == "no-cache"
    assert len(brotli.compress(css.content)) < len(css.content)

    gzipped = await patient.get("/static/css/app.css", headers=GZIP)
    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzipped.content == css.content

    today = await patient.get("/", headers=BR)
    assert today.status_code == 200
    assert today.headers["content-encoding"] == "br"

    plain = await patient.get("/static/css/app.css", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == css.content


async def test_the_service_worker_keeps_no_cache(patient: Any) -> None:
    worker = await patient.get("/sw.js", headers=BR)
    assert worker.status_code == 200
    assert worker.headers["cache-control"] == "no-cache"


async def test_a_page_with_the_csrf_token_is_never_compressed(clinician: Any) -> None:
    """A form carries the token; beside anything the page reflects, a compressed length would
    tell a right guess at the token from a wrong one."""
    page = await clinician.get("/clinician/accept", headers=BR)
    assert page.status_code == 200, page.text
    assert 'name="_csrf_token"' in page.text
    assert "content-encoding" not in page.headers
