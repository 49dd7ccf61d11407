"""The list of app-shell pages is written once, in server/pwa/shell.py: the service worker and
the page script get it from there as they are served, and the worker's version follows it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from server.pwa import shell
from server.pwa.shell import PUBLIC_SHELL_PAGES, SHELL_PAGES, STATIC_DIR


def served_list(source: str, pattern: str) -> list[str]:
    found = re.search(pattern, source)
    assert found, f"no {pattern!r} in the served script"
    pages: list[str] = json.loads(found.group(1))
    return pages


async def test_the_worker_serves_the_python_list(client_factory: Any) -> None:
    worker = (await client_factory().get("/sw.js")).text
    assert served_list(worker, r"const SHELL_PAGES = new Set\((\[.*?\])\);") == list(SHELL_PAGES)
    assert set(SHELL_PAGES) <= set(served_list(worker, r"const PRECACHE = (\[.*?\]);"))
    assert "/* SHELL_PAGES */" not in worker and "/* PRECACHE */" not in worker


async def test_the_page_script_serves_the_python_list(client_factory: Any) -> None:
    """app.js checks the account with the server on the patient's own shell pages only: /crisis
    and /offline must open for anyone, signed out or a clinician, without being sent away."""
    client = client_factory()
    response = await client.get("/static/js/app.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    patient_pages = served_list(response.text, r"const PATIENT_PAGES = (\[.*?\]);")
    assert patient_pages == [page for page in SHELL_PAGES if page not in PUBLIC_SHELL_PAGES]
    assert set(PUBLIC_SHELL_PAGES) < set(SHELL_PAGES)
    assert "/* PATIENT_SHELL_PAGES */" not in response.text
    # Still revalidated like any static file, and the other scripts are untouched.
    etag = response.headers["etag"]
    again = await client.get("/static/js/app.js", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    head = await client.head("/static/js/app.js")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(response.content))
    store = await client.get("/static/js/store.js")
    assert store.content == (STATIC_DIR / "js" / "store.js").read_bytes()


def test_no_copy_of_the_list_on_disk() -> None:
    """A page list written into the scripts again would drift from the Python one."""
    quoted = {json.dumps(page) for page in SHELL_PAGES}
    for name, marker in (
        ("sw.js", "[/* SHELL_PAGES */]"),
        ("js/app.js", "[/* PATIENT_SHELL_PAGES */]"),
    ):
        source = (STATIC_DIR / name).read_text()
        assert source.count(marker) == 1, name
        for line in source.splitlines():
            assert len({page for page in quoted if page in line}) < 2, f"{name}: {line}"


def test_the_version_follows_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    before = shell._version("+1 555 0100")
    monkeypatch.setattr(shell, "SHELL_PAGES", (*SHELL_PAGES, "/new"))
    with_page = shell._version("+1 555 0100")
    assert with_page != before
    monkeypatch.setattr(shell, "FILLED", {"js/app.js": {shell.PATIENT_PAGES_MARKER: ["/", "/new"]}})
    assert shell._version("+1 555 0100") not in (before, with_page)
