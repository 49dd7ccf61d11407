"""A local Web Push service (RFC 8030) for tests and benchmarks: what a phone's push service does,
on 127.0.0.1, so a test can assert on the exact payload a device would show.

It mints subscriptions from its own P-256 keys and auth secrets, checks each request's VAPID
header (RFC 8292), decrypts each body (RFC 8291, aes128gcm) and answers 201 — or whatever a
test asks for: 404, 410, 403, 429 with Retry-After, 500, or no answer at all.

Inside the test's event loop (the dispatcher runs in the same loop)::

    async with PushService() as service:
        sub = service.subscribe()          # like pushManager.subscribe() in a browser
        sub.as_json()                      # {"endpoint": ..., "keys": {"p256dh": ..., "auth": ...}}
        service.script(sub, 429, 201, retry_after=120)  # the next answers for this device
        service.answer(sub, 410)           # the answer from then on (default 201)
        service.redirect(sub, url)         # 307 to url from then on
        service.stall(sub)                 # hold requests unanswered until service.release()
        ... send pushes ...
        service.deliveries                 # every accepted push, decrypted (Delivery)
        service.delivered_to(sub)          # ... for one device
        service.requests                   # every request, with the status it was answered

From synchronous code, or another event loop (browser tests, benchmarks)::

    with PushService.in_thread() as service: ...

The worker sends only to the push services AFTERGLOW_PUSH_SERVICES lists, so a test process's
push service always listens on one port, ``local_port()``, and its settings and live servers
list ``push_services()`` (that port on 127.0.0.1, and the public push services). Only one runs
at a time in a process; ``PushService(port=0)`` takes any free port instead.

Options: ``PushService(verify_vapid=False, decrypt=False)`` skip the checks (a benchmark
measuring the sender alone); ``subscribe(application_server_key=...)`` binds a subscription to
one VAPID public key, so pushes signed with another get 403, as real push services do.

A ``Delivery`` has ``payload`` (bytes), ``json()``, ``subscription``, ``ttl``, ``urgency``,
``topic`` and ``claims`` (the VAPID JWT claims).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from server.config import Settings


@functools.cache
def _reservation() -> socket.socket:
    # Bound, never listening, kept open: no other bind takes the port between two tests,
    # while the push service (binding with SO_REUSEADDR too) can listen on it.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def local_port() -> int:
    """The port this process's local push service listens on, the same for the whole run."""
    port: int = _reservation().getsockname()[1]
    return port


def push_services() -> str:
    """AFTERGLOW_PUSH_SERVICES for tests: the local push service, and the public ones."""
    return ",".join((f"127.0.0.1:{local_port()}", *Settings().push_services))


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(eq=False)
class Subscription:
    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    application_server_key: str | None = None
    default_status: int = 201
    scripted: deque[tuple[int, int | None]] = field(default_factory=deque)
    stalled: bool = False
    redirect_to: str | None = None  # the Location of a 3xx answer

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def as_json(self) -> dict[str, Any]:
        """What the browser's PushSubscription.toJSON() gives (and our API takes)."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@dataclass
class Delivery:
    subscription: Subscription
    payload: bytes
    headers: dict[str, str]
    claims: dict[str, Any]
    received_at: float

    def json(self) -> Any:
        return json.loads(self.payload)

    @property
    def ttl(self) -> int:
        return int(self.headers.get("TTL", "0"))

    @property
    def urgency(self) -> str | None:
        return self.headers.get("Urgency")

    @property
    def topic(self) -> str | None:
        return self.headers.get("Topic")


@dataclass
class Request:
    subscription: Subscription | None
    status: int
    reason: str = ""


class PushService:
    def __init__(
        self, *, verify_vapid: bool = True, decrypt: bool = True, port: int | None = None
    ) -> None:
        self.port = local_port() if port is None else port
        self.verify_vapid = verify_vapid
        self.decrypt = decrypt
        self.subscriptions: dict[str, Subscription] = {}
        self.deliveries: list[Delivery] = []
        self.requests: list[Request] = []
        self.vapid_failures: list[str] = []
        self.stalled_requests = 0  # requests being held by stall() right now
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._release: asyncio.Event | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> PushService:
        app = web.Application()
        app.router.add_post("/push/{token}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._release = asyncio.Event()
        return self

    async def stop(self) -> None:
        if self._release is not None:
            self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> PushService:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @classmethod
    @contextmanager
    def in_thread(cls, **options: Any) -> Iterator[PushService]:
        """Run the service in an event loop of its own, on a daemon thread."""
        service = cls(**options)
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(service.start())
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=run, name="push-service", daemon=True)
        thread.start()
        ready.wait(10)
        try:
            yield service
        finally:
            asyncio.run_coroutine_threadsafe(service.stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

    @classmethod
    @asynccontextmanager
    async def running(cls, **options: Any) -> AsyncIterator[PushService]:
        async with cls(**options) as service:
            yield service

    # --- what tests control ------------------------------------------------------------------

    def subscribe(self, application_server_key: str | None = None) -> Subscription:
        token = secrets.token_urlsafe(16)
        sub = Subscription(
            token=token,
            endpoint=f"{self.base_url}/push/{token}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=secrets.token_bytes(16),
            application_server_key=application_server_key,
        )
        self.subscriptions[token] = sub
        return sub

    def answer(self, sub: Subscription, status: int) -> None:
        """Answer every later request for ``sub`` with ``status`` (201 accepts and decrypts)."""
        sub.default_status = status

    def script(self, sub: Subscription, *statuses: int, retry_after: int | None = None) -> None:
        """Answer the next requests for ``sub`` with these statuses, in order, then the default.
        ``retry_after`` goes with each 429 and 503."""
        for status in statuses:
            sub.scripted.append((status, retry_after if status in (429, 503) else None))

    def redirect(self, sub: Subscription, location: str, status: int = 307) -> None:
        """Answer every later request for ``sub`` with a redirect to ``location``."""
        sub.default_status, sub.redirect_to = status, location

    def forget(self, sub: Subscription) -> None:
        """The user unsubscribed on the device: 410 Gone from now on."""
        sub.default_status = 410

    def stall(self, sub: Subscription) -> None:
        """Hold requests for ``sub`` without an answer until ``release()`` (timeouts, crashes).
        A stalled request is never counted as a delivery."""
        sub.stalled = True

    def release(self) -> None:
        for sub in self.subscriptions.values():
            sub.stalled = False
        if self._release is not None:
            self._release.set()
            self._release = asyncio.Event()

    def delivered_to(self, sub: Subscription) -> list[Delivery]:
        return [d for d in self.deliveries if d.subscription is sub]

    def attempts_for(self, sub: Subscription) -> list[Request]:
        return [r for r in self.requests if r.subscription is sub]

    # --- the push service --------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        sub = self.subscriptions.get(request.match_info["token"])
        body = await request.read()
        if sub is None:
            return self._answer(None, 404, "no such subscription")
        if sub.stalled:
            assert self._release is not None
            self.stalled_requests += 1
            try:
                await self._release.wait()
            finally:
                self.stalled_requests -= 1
            return self._answer(sub, 503, "stalled", retry_after=1)
        status, retry_after = sub.scripted.popleft() if sub.scripted else (sub.default_status, None)
        if 300 <= status < 400 and sub.redirect_to:
            self.requests.append(Request(sub, status, "redirect"))
            return web.Response(status=status, headers={"Location": sub.redirect_to})
        if status != 201:
            return self._answer(sub, status, "scripted", retry_after=retry_after)
        claims: dict[str, Any] = {}
        if self.verify_vapid:
            problem, claims = self._check_vapid(request, sub)
            if problem:
                self.vapid_failures.append(problem)
                return self._answer(sub, 403, problem)
        payload = body
        if self.decrypt:
            if request.headers.get("Content-Encoding") != "aes128gcm":
                return self._answer(sub, 400, "Content-Encoding must be aes128gcm")
            try:
                payload = http_ece.decrypt(
                    body,
                    private_key=sub.private_key,
                    auth_secret=sub.auth_secret,
                    version="aes128gcm",
                )
            except Exception as exc:
                return self._answer(sub, 400, f"cannot decrypt: {exc}")
        headers = {
            k: request.headers[k] for k in ("TTL", "Urgency", "Topic") if k in request.headers
        }
        self.deliveries.append(Delivery(sub, payload, headers, claims, time.monotonic()))
        self.requests.append(Request(sub, 201))
        return web.Response(status=201, headers={"Location": f"{self.base_url}/message/1"})

    def _answer(
        self, sub: Subscription | None, status: int, reason: str, retry_after: int | None = None
    ) -> web.Response:
        self.requests.append(Request(sub, status, reason))
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return web.Response(status=status, text=reason, headers=headers)

    def _check_vapid(
        self, request: web.Request, sub: Subscription
    ) -> tuple[str | None, dict[str, Any]]:
        auth = request.headers.get("Authorization", "")
        scheme, _, params = auth.partition(" ")
        if scheme.lower() != "vapid":
            return "Authorization is not `vapid t=...,k=...`", {}
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        token, key = parts.get("t", ""), parts.get("k", "")
        try:
            valid = Vapid02.verify(auth)
            claims = json.loads(b64url_decode(token.split(".")[1]))
        except Exception as exc:
            return f"VAPID token unreadable: {exc}", {}
        if not valid:
            return "VAPID signature does not verify", claims
        if sub.application_server_key and key != sub.application_server_key:
            return "VAPID key differs from the subscription's applicationServerKey", claims
        if claims.get("aud") != self.base_url:
            return f"VAPID aud {claims.get('aud')!r} is not {self.base_url!r}", claims
        if not 0 < int(claims.get("exp", 0)) - time.time() <= 24 * 3600:
            return "VAPID exp is not within the next 24 hours", claims
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return "VAPID sub is missing", claims
        return None, claims
