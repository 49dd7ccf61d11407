"""Second factors and re-authentication: enrol an authenticator app, pass the second step of a
sign-in, remove the factor, and prove who you are again before a change to the account."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from server import web
from server.api.auth import Me, Password, me_of
from server.domain.accounts import SessionState
from server.errors import InvalidField
from server.security import session_cookie, session_token
from server.services import mfa, reauthentication
from server.services.mfa import Enrolment, Status
from server.web import AppSettings, CurrentUser, DbPool, JSONBody

AnyRequest = Request[Any, Any, Any]
Code = Annotated[str, msgspec.Meta(max_length=40)]


class CodeIn(web.Input):
    code: Code  # six digits from the app, or a recovery code


class ProofIn(web.Input):
    password: Password | msgspec.UnsetType = msgspec.UNSET
    code: Code | msgspec.UnsetType = msgspec.UNSET


class RecoveryCodes(msgspec.Struct):
    recovery_codes: list[str]  # shown once: each works once, instead of a code from the app


def _token(request: AnyRequest) -> str:
    return session_token(request) or ""


def _state(request: AnyRequest) -> SessionState | None:
    state: SessionState | None = request.auth
    return state


class SecondFactorController(Controller):
    path = "/api/v1/auth"
    tags = ["accounts"]

    @get("/mfa", guards=[web.signed_in])
    async def mfa_status(
        self, request: AnyRequest, user: CurrentUser, pool: DbPool, settings: AppSettings
    ) -> Status:
        """Whether an authenticator app is set up, recovery codes left, and whether the account
        must have one."""
        return await mfa.status(pool, settings, user, _token(request))

    @post("/mfa/totp", status_code=HTTP_200_OK, guards=[web.signed_in])
    async def begin_totp(
        self, request: AnyRequest, user: CurrentUser, pool: DbPool, settings: AppSettings
    ) -> Enrolment:
        """Start enrolling an authenticator app: its secret (base32) and the otpauth:// URI for a
        QR code. Within five minutes of signing in or re-authenticating."""
        return await mfa.begin_totp(pool, settings, user, _token(request), _state(request))

    @post("/mfa/totp/confirm", status_code=HTTP_200_OK, guards=[web.signed_in])
    async def confirm_totp(
        self, request: AnyRequest, data: JSONBody[CodeIn], user: CurrentUser, pool: DbPool
    ) -> RecoveryCodes:
        """The app's first code: the factor is on, and ten recovery codes come back (shown this
        once). Every other session of the account ends."""
        codes = await mfa.confirm_totp(
            pool, user, _token(request), data.code, web.client_address(request)
        )
        return RecoveryCodes(recovery_codes=codes)

    @delete("/mfa/totp", status_code=HTTP_204_NO_CONTENT, guards=[web.signed_in])
    async def remove_totp(self, request: AnyRequest, user: CurrentUser, pool: DbPool) -> None:
        """Remove the authenticator app and its recovery codes. Within five minutes of a
        re-authentication."""
        await mfa.remove_totp(
            pool, user, _token(request), _state(request), web.client_address(request)
        )

    @post("/mfa/verify", status_code=HTTP_200_OK)
    async def verify(
        self, request: AnyRequest, data: JSONBody[CodeIn], pool: DbPool, settings: AppSettings
    ) -> Response[Me]:
        """The second step of a sign-in (the session `POST /auth/login` answered
        `mfa_required` with): a code from the app or a recovery code, each taken once. The
        account, signed in under a new session token."""
        user, session = await mfa.pass_second_step(
            pool,
            settings,
            token=session_token(request),
            state=_state(request),
            code=data.code,
            address=web.client_address(request),
        )
        return Response(me_of(user), cookies=[session_cookie(settings, session)])

    @post("/reauthenticate", status_code=HTTP_204_NO_CONTENT, guards=[web.signed_in])
    async def reauthenticate(
        self, request: AnyRequest, data: JSONBody[ProofIn], user: CurrentUser, pool: DbPool
    ) -> None:
        """Prove who you are again, with the password or a code: for the next five minutes
        the account can be deleted, its password changed and its second factor removed."""
        if data.password is not msgspec.UNSET:
            await reauthentication.with_password(pool, user, _token(request), data.password)
        elif data.code is not msgspec.UNSET:
            await reauthentication.with_code(pool, user, _token(request), data.code)
        else:
            raise InvalidField("password", "Enter your password, or a code from your app.")
