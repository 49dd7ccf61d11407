"""Getting into an account through its email: a password reset link, and confirming the
address (`/api/v1/auth/password-reset`, `/password-reset/confirm`, `/verify`)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from server.domain.accounts import PASSWORD_MAX
from server.services import recovery
from server.web import AppSettings, DbPool, Input, JSONBody, client_address

Email = Annotated[str, msgspec.Meta(max_length=254)]
Password = Annotated[str, msgspec.Meta(max_length=PASSWORD_MAX * 4)]
# A link's token: 32 random bytes, URL-safe base64 (43 characters); anything else is refused
# before the database is asked.
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
AnyRequest = Request[Any, Any, Any]

RESET_SENT = (
    "If an account uses this address, we have emailed it a link to choose a new password. "
    "The link works for 30 minutes."
)


class Accepted(msgspec.Struct):
    """The same answer whatever happened next: it says nothing of whether an account exists."""

    detail: str


class PasswordResetIn(Input):
    email: Email


class PasswordResetConfirmIn(Input):
    token: Token
    password: Password


class VerifyIn(Input):
    token: Token


class RecoveryController(Controller):
    path = "/api/v1/auth"
    tags = ["accounts"]

    @post("/password-reset", status_code=HTTP_202_ACCEPTED)
    async def password_reset(
        self,
        request: AnyRequest,
        data: JSONBody[PasswordResetIn],
        pool: DbPool,
        settings: AppSettings,
    ) -> Accepted:
        """Mail a link to choose a new password to the account with this address, if any: the
        answer is the same either way."""
        await recovery.request_password_reset(
            pool, settings, email=data.email, address=client_address(request)
        )
        return Accepted(RESET_SENT)

    @post("/password-reset/confirm", status_code=HTTP_204_NO_CONTENT)
    async def password_reset_confirm(
        self, request: AnyRequest, data: JSONBody[PasswordResetConfirmIn], pool: DbPool
    ) -> None:
        """Choose a new password with a reset link's token. Every session of the account ends."""
        await recovery.reset_password(
            pool, token=data.token, password=data.password, address=client_address(request)
        )

    @post("/verify", status_code=HTTP_204_NO_CONTENT)
    async def verify(self, request: AnyRequest, data: JSONBody[VerifyIn], pool: DbPool) -> None:
        """Confirm an account's email address with the token of the link mailed to it."""
        await recovery.verify_email(pool, token=data.token, address=client_address(request))
