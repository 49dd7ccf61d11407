"""Sign up, sign in, sign out, and the signed-in account (`/me`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_202_ACCEPTED,
    HTTP_204_NO_CONTENT,
)

from server.api.recovery import Accepted, Token
from server.api.reminders import RemindersPatch, changes_of
from server.config import Settings
from server.domain.accounts import PASSWORD_MAX, User
from server.i18n import Language, negotiate
from server.security import session_cookie, session_token
from server.services import accounts
from server.services.sessions import NewSession
from server.web import (
    AppSettings,
    CurrentUser,
    DbPool,
    Input,
    JSONBody,
    client_address,
    signed_in,
)

Email = Annotated[str, msgspec.Meta(max_length=254)]
Password = Annotated[str, msgspec.Meta(max_length=PASSWORD_MAX * 4)]
Name = Annotated[str, msgspec.Meta(max_length=100)]
Zone = Annotated[str, msgspec.Meta(max_length=64)]
Phone = Annotated[str, msgspec.Meta(max_length=40, pattern=r"^[0-9+()\-. ]*$")]
AnyRequest = Request[Any, Any, Any]
CHECK_EMAIL = (
    "Check your email: we have sent a message to this address to finish creating your account."
)


class RegisterIn(Input):
    email: Email
    password: Password
    display_name: Name
    timezone: Zone
    # Unset: the language the browser asks for (Accept-Language), else English. Any other
    # value than a language we speak is a 422 naming the field (checked by the service).
    language: Any = msgspec.UNSET


class LoginIn(Input):
    email: Email
    password: Password


class LinkIn(Input):
    token: Token


class PasswordChangeIn(Input):
    new_password: Password
    current_password: Password | msgspec.UnsetType = msgspec.UNSET  # or a re-authentication


class SecondStep(msgspec.Struct):
    """The password was right; the account's second factor comes next."""

    mfa_required: bool = True


class ProfilePatch(Input):
    display_name: Name | msgspec.UnsetType = msgspec.UNSET
    timezone: Zone | msgspec.UnsetType = msgspec.UNSET
    clinic_phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    language: Any = msgspec.UNSET  # `en` or `es`; anything else a 422 naming the field
    reminders: RemindersPatch | msgspec.UnsetType = msgspec.UNSET


class Me(msgspec.Struct):
    id: UUID
    email: str
    role: str
    display_name: str
    timezone: str
    clinic_phone: str | None
    created_at: datetime
    language: Language


def me_of(user: User) -> Me:
    return msgspec.convert(user, Me, from_attributes=True)


def entered(settings: Settings, user: User, session: NewSession) -> Response[Me | SecondStep]:
    """The answer to a sign-in: the account, or (its second factor still to come) only that."""
    body: Me | SecondStep = SecondStep() if session.second_factor_pending else me_of(user)
    return Response(body, cookies=[session_cookie(settings, session)])


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["accounts"]

    @post("/register", status_code=HTTP_201_CREATED)
    async def register(
        self, request: AnyRequest, data: JSONBody[RegisterIn], pool: DbPool, settings: AppSettings
    ) -> Response[Me | Accepted]:
        """Create a patient account and sign it in (201). Where email verification is required,
        202 "check your email" for every address instead. Clinicians come from the CLI."""
        made = await accounts.register(
            pool,
            settings,
            email=data.email,
            password=data.password,
            display_name=data.display_name,
            timezone=data.timezone,
            address=client_address(request),
            language=negotiate(request.headers.get("accept-language"))
            if data.language is msgspec.UNSET
            else data.language,
        )
        if made is None:
            return Response(Accepted(CHECK_EMAIL), status_code=HTTP_202_ACCEPTED)
        user, session = made
        return Response(
            me_of(user), status_code=HTTP_201_CREATED, cookies=[session_cookie(settings, session)]
        )

    @post("/login", status_code=HTTP_200_OK)
    async def login(
        self, request: AnyRequest, data: JSONBody[LoginIn], pool: DbPool, settings: AppSettings
    ) -> Response[Me | SecondStep]:
        """Sign in. For an account with a second factor, 200 {"mfa_required": true} and a
        session that can only pass it (POST /api/v1/auth/mfa/verify) or sign out."""
        user, session = await accounts.sign_in(
            pool,
            settings,
            email=data.email,
            password=data.password,
            address=client_address(request),
            old_token=session_token(request),
        )
        return entered(settings, user, session)

    @post("/login/link", status_code=HTTP_200_OK)
    async def login_with_link(
        self, request: AnyRequest, data: JSONBody[LinkIn], pool: DbPool, settings: AppSettings
    ) -> Response[Me | SecondStep]:
        """Sign in with the one-time link mailed to a locked account (its token), as the right
        password would: to the second step where the account has a second factor."""
        user, session = await accounts.sign_in_with_link(
            pool,
            settings,
            token=data.token,
            address=client_address(request),
            old_token=session_token(request),
        )
        return entered(settings, user, session)

    @post("/logout", status_code=HTTP_204_NO_CONTENT)
    async def logout(
        self, request: AnyRequest, pool: DbPool, settings: AppSettings
    ) -> Response[None]:
        await accounts.sign_out(pool, session_token(request))
        return Response(
            None, status_code=HTTP_204_NO_CONTENT, cookies=[session_cookie(settings, None)]
        )

    @post("/logout-everywhere", status_code=HTTP_204_NO_CONTENT, guards=[signed_in])
    async def logout_everywhere(
        self, request: AnyRequest, user: CurrentUser, pool: DbPool, settings: AppSettings
    ) -> Response[None]:
        """End every session of this account, on every device, this one too."""
        await accounts.sign_out_everywhere(pool, user, client_address(request))
        return Response(
            None, status_code=HTTP_204_NO_CONTENT, cookies=[session_cookie(settings, None)]
        )

    @post("/password", status_code=HTTP_204_NO_CONTENT, guards=[signed_in])
    async def change_password(
        self,
        request: AnyRequest,
        data: JSONBody[PasswordChangeIn],
        user: CurrentUser,
        pool: DbPool,
        settings: AppSettings,
    ) -> Response[None]:
        """Change the password, end every other session of this account, and go on under a
        new session token. Without `current_password`, only within five minutes of a
        re-authentication (403 `reauthentication-required` otherwise)."""
        session = await accounts.change_password(
            pool,
            user,
            current=None if data.current_password is msgspec.UNSET else data.current_password,
            new=data.new_password,
            token=session_token(request) or "",
            state=request.auth,
            address=client_address(request),
        )
        return Response(
            None, status_code=HTTP_204_NO_CONTENT, cookies=[session_cookie(settings, session)]
        )


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["accounts"]
    guards = [signed_in]

    @get("")
    async def me(self, user: CurrentUser) -> Me:
        return me_of(user)

    @patch("")
    async def update_me(
        self, request: AnyRequest, data: JSONBody[ProfilePatch], user: CurrentUser, pool: DbPool
    ) -> Me:
        profile = {
            name: value
            for name in ("display_name", "timezone", "clinic_phone", "language")
            if (value := getattr(data, name)) is not msgspec.UNSET
        }
        reminders = None if data.reminders is msgspec.UNSET else changes_of(data.reminders)
        return me_of(
            await accounts.update_profile(
                pool, user, profile, reminders, address=client_address(request)
            )
        )

    @delete("", status_code=HTTP_204_NO_CONTENT)
    async def delete_me(
        self, request: AnyRequest, user: CurrentUser, pool: DbPool, settings: AppSettings
    ) -> Response[None]:
        """Erase the account and every row of its data (cascades from users). Only within five
        minutes of a re-authentication (403 `reauthentication-required` otherwise)."""
        await accounts.erase(pool, user, request.auth, client_address(request))
        return Response(
            None, status_code=HTTP_204_NO_CONTENT, cookies=[session_cookie(settings, None)]
        )
