"""Passwords, sessions, the signed-in user, CSRF, security headers and login throttling."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar import Request
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.config import Settings
from server.db import Pool, connection, request_scope, transaction
from server.domain.accounts import User
from server.problems import AppError
from server.store import sessions as session_store
from server.store import throttle
from server.timeutil import utc_now

log = logging.getLogger("afterglow.access")

SESSION_COOKIE = "afterglow_session"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrf-token"

# --- passwords -------------------------------------------------------------------------------

_hasher = PasswordHasher()  # argon2id, the library's RFC 9106 low-memory profile
# argon2 costs ~100 ms of CPU: hash in a small pool of threads of its own, never more at once
# than there are cores, so a burst of logins cannot starve everything else.
_hash_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")
# Verified when the email is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("afterglow-dummy-password")


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_hash_pool, _hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """False for a wrong password and for an unknown account, in about the same time."""
    return await asyncio.get_running_loop().run_in_executor(
        _hash_pool, _verify, password_hash or _DUMMY_HASH, password, password_hash is not None
    )


def _verify(password_hash: str, password: str, real: bool) -> bool:
    try:
        return _hasher.verify(password_hash, password) and real
    except (VerificationError, InvalidHashError):
        return False


# --- sessions --------------------------------------------------------------------------------


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def session_lifetimes(settings: Settings, role: str) -> tuple[timedelta, timedelta]:
    """(idle, absolute) for a role: clinicians see many patients, so theirs are short."""
    if role == "clinician":
        return (
            timedelta(minutes=settings.clinician_idle_minutes),
            timedelta(hours=settings.clinician_absolute_hours),
        )
    return (
        timedelta(days=settings.patient_idle_days),
        timedelta(days=settings.patient_absolute_days),
    )


async def start_session(pool: Pool, settings: Settings, user: User) -> Cookie:
    """A fresh 256-bit token for every sign-in, so a cookie planted before login is useless."""
    token = secrets.token_urlsafe(32)
    idle, absolute = session_lifetimes(settings, user.role)
    async with transaction(pool) as conn:
        await session_store.create_session(
            conn,
            token_hash=token_hash(token),
            user_id=user.id,
            idle_timeout=idle,
            expires_at=utc_now() + absolute,
        )
    return session_cookie(settings, token, int(absolute.total_seconds()))


def session_cookie(settings: Settings, token: str, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


def cleared_session_cookie(settings: Settings) -> Cookie:
    return session_cookie(settings, "", 0)


def session_token(request: Request[Any, Any, Any]) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    return token if token else None


async def current_user(request: Request[Any, Any, Any]) -> User | None:
    token = session_token(request)
    if token is None:
        return None
    pool: Pool = request.app.state.pool
    async with connection(pool) as conn:
        return await session_store.user_for_session(conn, token_hash(token))


async def provide_user(request: Request[Any, Any, Any]) -> User:
    """Dependency: the signed-in user, or 401."""
    user = await current_user(request)
    if user is None:
        raise NotAuthorizedException("Sign in first.")
    return user


async def provide_patient(request: Request[Any, Any, Any]) -> User:
    user = await provide_user(request)
    if user.role != "patient":
        raise PermissionDeniedException("Only a patient account can do this.")
    return user


async def provide_clinician(request: Request[Any, Any, Any]) -> User:
    user = await provide_user(request)
    if user.role != "clinician":
        raise PermissionDeniedException("Only a clinician account can do this.")
    return user


# --- login throttling ------------------------------------------------------------------------

THROTTLE_WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20


class TooManyAttempts(AppError):
    status = 429


def throttle_keys(email: str, address: str) -> tuple[str, str]:
    # The account key is a hash: unknown emails typed at the login form are not kept.
    account = "acct:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return account, "addr:" + address


async def check_throttle(pool: Pool, account: str, address: str) -> None:
    async with transaction(pool) as conn:
        counts = await throttle.recent_failures(conn, [account, address], THROTTLE_WINDOW)
    for key, limit in ((account, ACCOUNT_LIMIT), (address, ADDRESS_LIMIT)):
        failures, retry = counts.get(key, (0, 0.0))
        if failures >= limit:
            seconds = max(1, math.ceil(retry))
            raise TooManyAttempts(
                f"Too many failed sign-ins. Try again in {math.ceil(seconds / 60)} minutes.",
                headers={"Retry-After": str(seconds)},
            )


async def record_login_failure(pool: Pool, account: str, address: str) -> None:
    async with transaction(pool) as conn:
        await throttle.record_failure(conn, [account, address], THROTTLE_WINDOW)


async def clear_login_failures(pool: Pool, account: str) -> None:
    async with transaction(pool) as conn:
        await throttle.clear_failures(conn, account)


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


# --- CSRF and headers ------------------------------------------------------------------------


def csrf_config(settings: Settings) -> CSRFConfig:
    """Signed double-submit token: cookie `csrftoken`, header `X-CSRF-Token`, form `_csrf_token`."""
    return CSRFConfig(
        secret=settings.secret_key,
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=settings.secure_cookies,
        cookie_samesite="lax",
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


def security_headers(settings: Settings) -> Any:
    """A before-send hook, so even responses to errors raised outside a route get them: security
    headers, the request id, no-store unless a route chose caching, and one access-log line
    (method, path, status, time; never a body, a query string or a cookie)."""
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
            scope.get("method"),
            scope.get("path"),
            message["status"],
            (time.perf_counter() - state["started"]) * 1000,
            state["request_id"],
        )

    return before_send
