"""An httpx client for the app in the test's own process."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from litestar import Litestar

from server import security


class Client(httpx.AsyncClient):
    """An httpx client speaking to the app in-process, sending the CSRF header like the PWA.

    Each client gets its own made-up source address, so per-address login throttling in one
    test does not spill into another. It speaks to the app's public URL, so an app served over
    HTTPS gets its Secure (`__Host-`) cookies back.
    """

    def __init__(self, app: Litestar, address: str | None = None) -> None:
        address = (
            address
            or f"127.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
        )
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        settings = app.state.settings
        super().__init__(transport=transport, base_url=settings.public_url)
        self.address = address
        self.csrf = True
        self.csrf_cookie = security.csrf_cookie_name(settings)

    async def request(self, method: str, url: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        if method.upper() not in ("GET", "HEAD", "OPTIONS"):
            if self.csrf_cookie not in self.cookies:
                await super().request("GET", "/healthz")
            if self.csrf:
                headers = dict(kwargs.pop("headers", None) or {})
                headers.setdefault(security.CSRF_HEADER, self.cookies[self.csrf_cookie])
                kwargs["headers"] = headers
        return await super().request(method, url, **kwargs)
