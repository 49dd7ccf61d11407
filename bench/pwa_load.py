"""PWA load: Today (``/``) in Debian's Chromium over loopback, cold and with the service worker
warm, beside a static hello page (HTML, one stylesheet, one module script) in the same browser,
loaded the same ways: first in a new context, then again in it.

"Ready" is when the check-in can be submitted: the later of DOMContentLoaded (deferred and
module scripts have run, so the form's submit handler is attached) and the first contentful
paint (the person sees the form). Cold: a new browser context each time (empty cache, no
service worker). Warm: the same context after its service worker is active (the shell comes
from its cache). Bytes: what the page pulled over the network (Chrome DevTools Protocol), and
the whole precached app shell compressed with gzip (level 6, each file on its own, as HTTP
compression would send it). Targets: ready < 1 s cold, < 300 ms warm; shell ≤ 100 KB.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import statistics
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import harness
from bench.harness import Options, Skip
from bench.report import Figure

NAME = "pwa"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
SHELL_LIMIT_KB = 100

HELLO_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hello</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/hello.css"></head>
<body><main><h1>Hello</h1>
<form id="checkin"><label><input type="radio" name="mood" value="6"> 6</label>
<button type="submit" id="save">Save check-in</button></form>
<p id="save-status"></p></main>
<script type="module" src="/hello.js"></script></body></html>
"""
HELLO_CSS = "body { font: 16px system-ui, sans-serif; margin: 2rem; } button { padding: .5rem; }\n"
HELLO_JS = """const form = document.getElementById("checkin");
form.addEventListener("submit", (event) => {
  event.preventDefault();
  document.getElementById("save-status").textContent = "Saved";
});
"""

TIMING = """async () => {
  const nav = performance.getEntriesByType("navigation")[0];
  let fcp = performance.getEntriesByName("first-contentful-paint")[0];
  for (let i = 0; !fcp && i < 40; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    fcp = performance.getEntriesByName("first-contentful-paint")[0];
  }
  return { dcl: nav.domContentLoadedEventEnd, fcp: fcp ? fcp.startTime : null };
}"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def hello_server(folder: Path) -> Iterator[str]:
    """The baseline page on a stdlib HTTP server on loopback, in a thread."""
    root = folder / "hello"
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text(HELLO_HTML)
    (root / "hello.css").write_text(HELLO_CSS)
    (root / "hello.js").write_text(HELLO_JS)
    handler = functools.partial(_Quiet, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="hello-page", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def shell_urls() -> list[str]:
    """What the service worker precaches, from the module that writes its list."""
    from server.pwa.shell import SHELL_PAGES, precache_assets

    return [*SHELL_PAGES, "/manifest.webmanifest", *precache_assets()]


async def shell_size(base_url: str, account: harness.Account) -> tuple[int, int, int, bool]:
    """(body bytes as served, bytes gzipped, files, whether the server compressed any)."""
    served = zipped = 0
    compressed = False
    urls = shell_urls()
    async with account.client(base_url) as client:
        for url in urls:
            response = await client.get(
                url, headers={"Accept-Encoding": "gzip, br", "Sec-Fetch-Mode": "no-cors"}
            )
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} (app shell) answered {response.status_code}")
            compressed |= bool(response.headers.get("content-encoding"))
            body = response.content  # decoded by httpx when the server compressed it
            served += response.num_bytes_downloaded
            zipped += len(gzip.compress(body, compresslevel=6, mtime=0))
    return served, zipped, len(urls), compressed


class Load:
    """One navigation: when the check-in could be submitted, and bytes from the network."""

    def __init__(self, ready: float, dcl: float, fcp: float | None, network_bytes: int) -> None:
        self.ready = ready
        self.dcl = dcl
        self.fcp = fcp
        self.network_bytes = network_bytes


class Tab:
    """A page with a DevTools session counting bytes that came over the network (not from the
    service worker)."""

    def __init__(self, page: Any, cdp: Any) -> None:
        self.page = page
        self.cdp = cdp
        self.bytes = 0
        self._from_worker: set[str] = set()
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)

    @classmethod
    async def open(cls, context: Any) -> Tab:
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.enable")
        return cls(page, cdp)

    def _response(self, event: dict[str, Any]) -> None:
        if event["response"].get("fromServiceWorker"):
            self._from_worker.add(event["requestId"])

    def _finished(self, event: dict[str, Any]) -> None:
        if event["requestId"] not in self._from_worker:
            self.bytes += int(event.get("encodedDataLength", 0))

    async def load(self, url: str) -> Load:
        self.bytes = 0
        self._from_worker.clear()
        await self.page.goto(url, wait_until="load", timeout=15_000)
        await self.page.wait_for_selector("#checkin #save", state="visible", timeout=5_000)
        timing = await self.page.evaluate(TIMING)
        await asyncio.sleep(0.2)  # late responses (the account, a first sync) still count
        dcl, fcp = float(timing["dcl"]), timing["fcp"]
        return Load(max(dcl, fcp or 0.0), dcl, fcp, self.bytes)


async def wait_for_worker(page: Any) -> None:
    """Until a service worker is active and controls the page (the shell is in its cache)."""
    await page.evaluate(
        """() => navigator.serviceWorker.ready.then(() => new Promise((resolve) => {
             if (navigator.serviceWorker.controller) return resolve(true);
             navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true));
           }))""",
    )


async def submit_works(page: Any) -> bool:
    """A check-in goes through the form (mood 6, Save) and the page says so."""
    await page.locator("#checkin input[name=mood][value='6']").check(force=True)
    await page.locator("#save").click()
    try:
        await page.wait_for_function(
            "() => document.getElementById('save-status').textContent.trim() !== ''",
            timeout=5_000,
        )
    except Exception:
        return False
    return True


async def run(options: Options) -> list[Figure]:
    if not Path(CHROMIUM).exists():
        raise Skip(f"{CHROMIUM} is missing (bash scripts/install-browser.sh)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        raise Skip("playwright is not installed") from None
    if not (harness.ROOT / "static" / "sw.js").exists():
        raise Skip("the service worker (static/sw.js) is not written yet")
    rounds = options.pick(5, 1)
    async with harness.database() as database_url, harness.real_app(database_url, options) as app:
        patient = await harness.register_patient(app.base_url)
        served, zipped, files, compressed = await shell_size(app.base_url, patient)
        cookies = [
            {"name": name, "value": value, "url": app.base_url}
            for name, value in patient.cookies.items()
        ]
        hello: list[Load] = []
        hello_warm: list[Load] = []
        cold: list[Load] = []
        warm: list[Load] = []
        submitted = None
        with hello_server(options.workdir) as hello_url:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=ARGS, headless=True
                )
                try:
                    # The browser's first navigation pays for starting its processes: untimed.
                    context = await browser.new_context()
                    await (await Tab.open(context)).load(hello_url)
                    await context.close()
                    for _ in range(rounds):
                        context = await browser.new_context()
                        tab = await Tab.open(context)
                        hello.append(await tab.load(hello_url))
                        for _ in range(2):
                            hello_warm.append(await tab.load(hello_url))
                        await context.close()
                    for _ in range(rounds):
                        context = await browser.new_context()
                        await context.add_cookies(cookies)
                        tab = await Tab.open(context)
                        cold.append(await tab.load(app.base_url + "/"))
                        async with asyncio.timeout(15):
                            await wait_for_worker(tab.page)
                        for _ in range(2):
                            warm.append(await tab.load(app.base_url + "/"))
                        if submitted is None:
                            submitted = await submit_works(tab.page)
                        await context.close()
                finally:
                    await browser.close()

    base = statistics.median(x.ready for x in hello)
    base_warm = statistics.median(x.ready for x in hello_warm)
    base_bytes = statistics.median(x.network_bytes for x in hello)
    cold_ready = statistics.median(x.ready for x in cold)
    warm_ready = statistics.median(x.ready for x in warm)
    cold_bytes = statistics.median(x.network_bytes for x in cold)
    warm_bytes = statistics.median(x.network_bytes for x in warm)
    baseline = f"hello page {base:.0f} ms"
    check = "a check-in submitted through the form" if submitted else "SUBMITTING THE FORM FAILED"
    return [
        Figure(
            NAME,
            "hello page ready (baseline)",
            base,
            "ms",
            note=f"median of {len(hello)}, each in a new context; "
            f"{base_bytes / 1024:.1f} KB over the network",
        ),
        Figure(
            NAME,
            "hello page ready again (baseline)",
            base_warm,
            "ms",
            note=f"median of {len(hello_warm)}, loaded again in the same context",
        ),
        Figure(
            NAME,
            "Today ready to submit, cold",
            cold_ready,
            "ms",
            target="< 1000 ms",
            ok=cold_ready < 1000,
            baseline=baseline,
            ratio=cold_ready / base,
            note=f"median of {len(cold)}; DOMContentLoaded "
            f"{statistics.median(x.dcl for x in cold):.0f} ms; {check}",
        ),
        Figure(
            NAME,
            "Today ready to submit, service worker warm",
            warm_ready,
            "ms",
            target="< 300 ms",
            ok=warm_ready < 300,
            baseline=f"hello page again {base_warm:.0f} ms",
            ratio=warm_ready / base_warm,
            note=f"median of {len(warm)}; {warm_bytes / 1024:.1f} KB still over the network "
            "(API calls)",
        ),
        Figure(
            NAME,
            "Today cold load, bytes over the network",
            cold_bytes / 1024,
            "KB",
            baseline=f"hello page {base_bytes / 1024:.1f} KB",
            ratio=cold_bytes / base_bytes if base_bytes else None,
            note="the server compresses responses"
            if compressed
            else "the server sends everything uncompressed",
        ),
        Figure(
            NAME,
            "app shell, gzip-compressed",
            zipped / 1024,
            "KB",
            target=f"≤ {SHELL_LIMIT_KB} KB",
            ok=zipped <= SHELL_LIMIT_KB * 1024,
            baseline=f"as served {served / 1024:.0f} KB",
            ratio=zipped / served if served else None,
            note=f"{files} precached files (pages, manifest, css, js, two icons)",
        ),
    ]
