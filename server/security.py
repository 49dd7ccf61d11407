"""The HTTP side of security: the session cookie, who is asking (the peer, or the client a listed
proxy forwarded) and who is signed in (middlewares), CSRF, security headers, the request id and
the access log. Passwords, sessions and throttling themselves are services."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

from litestar import Request
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie
from litestar.enums import ScopeType
from litestar.middleware.compression import CompressionMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.config import Settings
from server.services import request_scope, sessions
from server.services.sessions import NewSession

log = logging.getLogger("afterglow.access")

SESSION_COOKIE = "afterglow_session"
CSRF_COOKIE = "csrftoken"
# Over HTTPS: a cookie only this host can set (Secure, Path=/, no Domain), so a sibling subdomain
# cannot plant a token of its choosing for the double-submit check. static/js reads either name.
HOST_CSRF_COOKIE = "__Host-csrftoken"
CSRF_HEADER = "x-csrf-token"

# --- the session cookie and the signed-in user -------------------------------------------------


def session_cookie(settings: Settings, session: NewSession | None) -> Cookie:
    """The cookie that carries a new session, or (None) the one that ends it in the browser."""
    return Cookie(
        key=SESSION_COOKIE,
        value=session.token if session else "",
        max_age=session.max_age if session else 0,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


def session_token(request: Request[Any, Any, Any]) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    return token if token else None


# Paths that never need to know who asks: no session lookup, ``request.user`` is None.
_ANONYMOUS_PREFIXES = ("/static/", "/sw.js", "/manifest.webmanifest", "/healthz", "/readyz")


# A route whose work is one statement marks itself ``opt={ONE_TRIP: True}``: its session is not
# looked up here but opened by that statement, in the same round trip (server/db.py).
ONE_TRIP = "one_trip"


def authentication_middleware(app: ASGIApp) -> ASGIApp:
    """Sets ``request.user``: the signed-in User, or None; and ``request.auth``: the session's
    SessionState, or None. A session still waiting for its second factor has no user: every
    guard refuses it, but the step that passes the factor and sign-out. Guards (server/web.py)
    decide who may call what; handlers read the user they were given. On a ``ONE_TRIP`` route
    ``request.auth`` is the session's key instead, and its handler's statement opens it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            scope["user"] = scope["auth"] = None
            if not scope["path"].startswith(_ANONYMOUS_PREFIXES):
                token = session_token(Request(scope))
                if token is not None and scope["route_handler"].opt.get(ONE_TRIP):
                    # Opened by the handler's one statement, with its guards' checks.
                    scope["auth"] = sessions.key_of(token)
                elif token is not None:
                    state = await sessions.session_for_token(scope["app"].state.pool, token)
                    scope["auth"] = state
                    if state is not None and not state.second_factor_pending:
                        scope["user"] = state.user
        await app(scope, receive, send)

    return middleware


# --- who is asking ----------------------------------------------------------------------------

IPAddress = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


def _address(text: str) -> IPAddress | None:
    try:
        found = ip_address(text.strip())
    except ValueError:
        return None
    mapped = found.ipv4_mapped if isinstance(found, IPv6Address) else None
    return mapped or found


def forwarded_client(peer: str, forwarded_for: str, proxies: tuple[Network, ...]) -> str:
    """The client's address, given the peer and its X-Forwarded-For. Each proxy appends the
    address it was reached from, so the header is read from the right, believing each hop a
    listed proxy added, up to the first that is not a proxy's own. Anything before it is the
    client's own claim; a hop that is not an IP address ends the walk at the last one known."""
    address = peer
    for hop in reversed(forwarded_for.split(",")):
        current = _address(address)
        if current is None or not any(current in network for network in proxies):
            break
        forwarded = _address(hop)
        if forwarded is None:
            break
        address = str(forwarded)
    return address


def forwarded_for_middleware(settings: Settings) -> Callable[[ASGIApp], ASGIApp]:
    """Makes ``request.client`` the forwarded client when a proxy listed in
    AFTERGLOW_FORWARDED_ALLOW_IPS asks; with none listed (the default) X-Forwarded-For is never
    read."""
    proxies = tuple(ip_network(network) for network in settings.forwarded_allow_ips)

    def wrap(app: ASGIApp) -> ASGIApp:
        if not proxies:
            return app

        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            peer = scope.get("client")
            if scope["type"] == ScopeType.HTTP and peer:
                hops = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
                if hops:
                    client = forwarded_client(peer[0], ",".join(hops), proxies)
                    if client != peer[0]:
                        scope["client"] = (client, 0)
            await app(scope, receive, send)

        return middleware

    return wrap


# --- compression -------------------------------------------------------------------------------

# What ``csrf_input`` renders in a page's forms (Litestar's form field for the token).
CSRF_FIELD = b'name="_csrf_token"'


class BreachSafeCompression(CompressionMiddleware):
    """Litestar's compression (brotli where the client accepts it, gzip otherwise), except for
    a page that carries the CSRF token: compressed beside anything the page reflects (a
    ``next=``, a search, a name typed into a form), its length would leak the token a guess at
    a time (BREACH). Such a page goes out as it is; the JSON API carries no token (it is in a
    cookie), and static files carry none."""

    def create_compression_send_wrapper(
        self,
        send: Send,
        compression_encoding: Any,
        scope: Scope,
    ) -> Send:
        # Litestar's wrapper makes its compressor (a brotli encoder with a 4 MB window) for every
        # response, even one too small to compress: a quarter of a check-in's throughput. It is
        # made here only for a body that will be compressed.
        compressing = super().create_compression_send_wrapper
        smallest = self.config.minimum_size
        start: Message | None = None
        chosen: Send | None = None

        async def send_wrapper(message: Message) -> None:
            nonlocal start, chosen
            if chosen is not None:
                await chosen(message)
            elif message["type"] == "http.response.start":
                start = message
            elif start is not None and message["type"] == "http.response.body":
                body = message.get("body", b"")
                small = not message.get("more_body") and len(body) < smallest
                if small or CSRF_FIELD in body:
                    chosen = send
                else:
                    chosen = compressing(send, compression_encoding, scope)
                await chosen(start)
                await chosen(message)
            else:
                await send(message)

        return send_wrapper


def compression_config() -> CompressionConfig:
    """Pages, the API and static files, compressed over 500 bytes (the service worker too:
    its Cache-Control stays no-cache, a Vary: Accept-Encoding is added)."""
    return CompressionConfig(
        backend="brotli",
        brotli_gzip_fallback=True,
        middleware_class=BreachSafeCompression,
    )


# --- CSRF and headers ------------------------------------------------------------------------


def csrf_cookie_name(settings: Settings) -> str:
    return HOST_CSRF_COOKIE if settings.https else CSRF_COOKIE


def csrf_config(settings: Settings) -> CSRFConfig:
    """Signed double-submit token: cookie `csrftoken` (`__Host-csrftoken` over HTTPS), header
    `X-CSRF-Token`, form `_csrf_token`."""
    return CSRFConfig(
        secret=settings.secret_key,
        cookie_name=csrf_cookie_name(settings),
        header_name=CSRF_HEADER,
        cookie_secure=settings.secure_cookies,
        cookie_samesite="lax",
        cookie_path="/",
        cookie_domain=None,
    )


CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def request_state(scope: Scope) -> dict[str, Any]:
    """The per-request state dict, with a request id and start time on first use."""
    state: dict[str, Any] = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = uuid.uuid4().hex[:16]
        state["started"] = time.perf_counter()
    return state


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_state(scope)
        async with request_scope():  # one database connection for the whole request
            await app(scope, receive, send)

    return middleware


def loggable(value: object) -> str:
    """``value`` as printable text on one line, for a log line: anything not printable (control
    characters, line and paragraph separators, bidi overrides) and the backslash are escaped,
    so what a request sends can neither start a log line of its own nor hide in one."""
    text = str(value)
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(_escaped(char) for char in text)


def _escaped(char: str) -> str:
    if char == "\\":
        return "\\\\"
    if char.isprintable():
        return char
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def security_headers(settings: Settings) -> Any:
    """A before-send hook, so even responses to errors raised outside a route get them: security
    headers, the request id, no-store unless a route chose caching, and one access-log line
    (method, path, status, time; never a body, a query string or a cookie), each value
    ``loggable``."""
    fixed: list[tuple[bytes, bytes]] = [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if settings.https:
        fixed.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        state = request_state(scope)
        headers = list(message.get("headers", []))
        names = {bytes(name).lower() for name, _ in headers}
        headers.extend(h for h in fixed if h[0] not in names)
        headers.append((b"x-request-id", state["request_id"].encode()))
        if b"cache-control" not in names:
            # Anything not explicitly cacheable may carry patient data.
            headers.append((b"cache-control", b"no-store"))
        message["headers"] = headers
        log.info(
            "%s %s %s %.1fms req=%s",
            loggable(scope.get("method")),
            loggable(scope.get("path")),
            message["status"],
            (time.perf_counter() - state["started"]) * 1000,
            state["request_id"],
        )

    return before_send
