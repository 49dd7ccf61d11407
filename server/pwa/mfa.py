"""The second-factor page (/mfa/setup), for patients and clinicians alike: set up an
authenticator app (a QR code and the secret in text, then its first code), see the recovery
codes once, or remove the app. Forms and redirects, no script: the clinician's pages have none.

A clinician without a second factor where AFTERGLOW_CLINICIAN_MFA=required is sent here from
every page of patient data (server/pwa/__init__.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
import segno
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from server.config import Settings
from server.domain.accounts import SessionState, User
from server.errors import AppError
from server.security import session_token
from server.services import mfa, reauthentication
from server.timeutil import utc_now
from server.web import AppSettings, CurrentUser, DbPool, client_address, signed_in

AnyRequest = Request[Any, Any, Any]
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
HOME = {"patient": "/settings", "clinician": "/clinician"}
SETUP = "/mfa/setup"


def qr_code(uri: str) -> str:
    """The otpauth:// URI as a QR code: an SVG in a data URL, for an <img> the CSP allows."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#000000"))


async def _page(
    request: AnyRequest,
    pool: DbPool,
    settings: Settings,
    user: User,
    *,
    error: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> Template:
    token = session_token(request) or ""
    status = await mfa.status(pool, settings, user, token)
    enrolment = (
        await mfa.pending_enrolment(pool, settings, user, token) if status.enrolling else None
    )
    state: SessionState | None = request.auth
    return Template(
        "mfa_setup.html",
        context={
            "page": "mfa",
            "script": "app",
            "user": user,
            "status": status,
            "enrolment": enrolment,
            "qr": qr_code(enrolment.otpauth_uri) if enrolment else None,
            "recent": reauthentication.is_recent(state),
            "home": HOME[user.role],
            "error": error,
            **context,
        },
        status_code=status_code,
    )


@get(SETUP, include_in_schema=False, guards=[signed_in])
async def setup(
    request: AnyRequest, pool: DbPool, settings: AppSettings, user: CurrentUser
) -> Template:
    return await _page(request, pool, settings, user)


@post(SETUP, include_in_schema=False, status_code=HTTP_303_SEE_OTHER, guards=[signed_in])
async def begin(
    request: AnyRequest, pool: DbPool, settings: AppSettings, user: CurrentUser, data: Form
) -> Template | Redirect:
    """Start: a password typed again when the last proof is older than five minutes."""

    async def step(token: str, state: SessionState | None) -> None:
        await mfa.begin_totp(pool, settings, user, token, state)

    return await _proven_then(request, pool, settings, user, data, step)


@post("/mfa/confirm", include_in_schema=False, status_code=200, guards=[signed_in])
async def confirm(
    request: AnyRequest, pool: DbPool, settings: AppSettings, user: CurrentUser, data: Form
) -> Template:
    """The app's first code: the recovery codes, shown on this answer only."""
    try:
        codes = await mfa.confirm_totp(
            pool, user, session_token(request) or "", data.get("code", ""), client_address(request)
        )
    except AppError as error:
        return await _refused(request, pool, settings, user, error)
    return await _page(request, pool, settings, user, recovery_codes=codes)


@post("/mfa/remove", include_in_schema=False, status_code=HTTP_303_SEE_OTHER, guards=[signed_in])
async def remove(
    request: AnyRequest, pool: DbPool, settings: AppSettings, user: CurrentUser, data: Form
) -> Template | Redirect:
    async def step(token: str, state: SessionState | None) -> None:
        await mfa.remove_totp(pool, user, token, state, client_address(request))

    return await _proven_then(request, pool, settings, user, data, step)


async def _refused(
    request: AnyRequest, pool: DbPool, settings: AppSettings, user: CurrentUser, error: AppError
) -> Template:
    """The page again, saying why the step did not go through."""
    return await _page(request, pool, settings, user, error=error.detail, status_code=error.status)


async def _proven_then(
    request: AnyRequest,
    pool: DbPool,
    settings: AppSettings,
    user: CurrentUser,
    data: Form,
    step: Callable[[str, SessionState | None], Awaitable[None]],
) -> Template | Redirect:
    """A step that wants a recent proof of who the owner is: the session's, or the password
    the form carries, typed again. Back to the setup page after it, or the page saying why not."""
    token = session_token(request) or ""
    try:
        state: SessionState | None = request.auth
        if data.get("password"):
            await reauthentication.with_password(pool, user, token, data["password"])
            state = None if state is None else _now_recent(state)
        await step(token, state)
    except AppError as error:
        return await _refused(request, pool, settings, user, error)
    return Redirect(SETUP, status_code=HTTP_303_SEE_OTHER)


def _now_recent(state: SessionState) -> SessionState:
    """The request's session as it stands once its owner re-authenticated in this request."""
    return msgspec.structs.replace(state, reauthenticated_at=utc_now())


MFA_PAGES = [setup, begin, confirm, remove]
