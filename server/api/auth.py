"""Sign up, sign in, sign out, and the signed-in account (`/me`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import Provide
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from server import security
from server.api import AppSettings, CurrentUser, DbPool, Input, JSONBody
from server.api.reminders import RemindersPatch, update_reminders
from server.db import transaction
from server.domain.accounts import (
    PASSWORD_MAX,
    check_display_name,
    check_password,
    check_timezone,
    normalise_email,
)
from server.problems import AppError, InvalidField
from server.store import audit
from server.store import reminders as reminder_store
from server.store import sessions as session_store
from server.store import users as user_store

Email = Annotated[str, msgspec.Meta(max_length=254)]
Password = Annotated[str, msgspec.Meta(max_length=PASSWORD_MAX * 4)]
Name = Annotated[str, msgspec.Meta(max_length=100)]
Zone = Annotated[str, msgspec.Meta(max_length=64)]
Phone = Annotated[str, msgspec.Meta(max_length=40, pattern=r"^[0-9+()\-. ]*$")]


class RegisterIn(Input):
    email: Email
    password: Password
    display_name: Name
    timezone: Zone


class LoginIn(Input):
    email: Email
    password: Password


class PasswordChangeIn(Input):
    current_password: Password
    new_password: Password


class ProfilePatch(Input):
    display_name: Name | msgspec.UnsetType = msgspec.UNSET
    timezone: Zone | msgspec.UnsetType = msgspec.UNSET
    clinic_phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    reminders: RemindersPatch | msgspec.UnsetType = msgspec.UNSET


class Me(msgspec.Struct):
    id: UUID
    email: str
    role: str
    display_name: str
    timezone: str
    clinic_phone: str | None
    created_at: datetime


def me_of(user: CurrentUser) -> Me:
    return Me(
        id=user.id,
        email=user.email,
        role=user.role,
        display_name=user.display_name,
        timezone=user.timezone,
        clinic_phone=user.clinic_phone,
        created_at=user.created_at,
    )


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["accounts"]

    @post("/register", status_code=HTTP_201_CREATED)
    async def register(
        self, data: JSONBody[RegisterIn], pool: DbPool, settings: AppSettings
    ) -> Response[Me]:
        """Create a patient account and sign it in. Clinicians come from the CLI."""
        email = normalise_email(data.email)
        check_password(data.password)
        name = check_display_name(data.display_name)
        zone = check_timezone(data.timezone)
        password_hash = await security.hash_password(data.password)
        async with transaction(pool) as conn:
            user = await user_store.create_user(
                conn,
                email=email,
                role="patient",
                password_hash=password_hash,
                display_name=name,
                timezone=zone,
            )
        cookie = await security.start_session(pool, settings, user)
        return Response(me_of(user), status_code=HTTP_201_CREATED, cookies=[cookie])

    @post("/login", status_code=HTTP_200_OK)
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginIn],
        pool: DbPool,
        settings: AppSettings,
    ) -> Response[Me]:
        account, address = security.throttle_keys(data.email, security.client_address(request))
        await security.check_throttle(pool, account, address)
        async with transaction(pool) as conn:
            found = await user_store.credentials_by_email(conn, data.email.strip())
        user, password_hash = found if found else (None, None)
        if not await security.verify_password(password_hash, data.password) or user is None:
            await security.record_login_failure(pool, account, address)
            raise AppError("Email or password is incorrect.", status=401)
        await security.clear_login_failures(pool, account)
        old = security.session_token(request)
        if old:
            async with transaction(pool) as conn:
                await session_store.delete_session(conn, security.token_hash(old))
        cookie = await security.start_session(pool, settings, user)
        async with transaction(pool) as conn:
            # A patient's sign-ins appear in their access log; a clinician's concern no patient.
            patient_id = user.id if user.role == "patient" else None
            await audit.record(
                conn,
                actor=user,
                patient_id=patient_id,
                action="sign_in",
                address=security.client_address(request),
            )
        return Response(me_of(user), cookies=[cookie])

    @post("/logout", status_code=HTTP_204_NO_CONTENT)
    async def logout(
        self, request: Request[Any, Any, Any], pool: DbPool, settings: AppSettings
    ) -> Response[None]:
        token = security.session_token(request)
        if token:
            async with transaction(pool) as conn:
                await session_store.delete_session(conn, security.token_hash(token))
        return Response(
            None,
            status_code=HTTP_204_NO_CONTENT,
            cookies=[security.cleared_session_cookie(settings)],
        )

    @post(
        "/password",
        status_code=HTTP_204_NO_CONTENT,
        dependencies={"user": Provide(security.provide_user)},
    )
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[PasswordChangeIn],
        user: CurrentUser,
        pool: DbPool,
    ) -> None:
        """Change the password and end every other session of this account."""
        check_password(data.new_password, "new_password")
        async with transaction(pool) as conn:
            current = await user_store.password_hash_of(conn, user.id)
        if not await security.verify_password(current, data.current_password):
            raise AppError("The current password is incorrect.", field="current_password")
        new_hash = await security.hash_password(data.new_password)
        keep = security.token_hash(security.session_token(request) or "")
        async with transaction(pool) as conn:
            await user_store.set_password(conn, user.id, new_hash)
            await session_store.delete_sessions_of(conn, user.id, keep=keep)


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["accounts"]
    dependencies = {"user": Provide(security.provide_user)}

    @get("")
    async def me(self, user: CurrentUser) -> Me:
        return me_of(user)

    @patch("")
    async def update_me(self, data: JSONBody[ProfilePatch], user: CurrentUser, pool: DbPool) -> Me:
        changes: dict[str, Any] = {}
        if data.display_name is not msgspec.UNSET:
            changes["display_name"] = check_display_name(data.display_name)
        if data.timezone is not msgspec.UNSET:
            changes["timezone"] = check_timezone(data.timezone)
        if data.clinic_phone is not msgspec.UNSET:
            changes["clinic_phone"] = (data.clinic_phone or "").strip() or None
        if data.reminders is not msgspec.UNSET and user.role != "patient":
            raise InvalidField("reminders", "Only patients have reminders.")
        async with transaction(pool) as conn:
            updated = await user_store.update_profile(conn, user.id, changes)
            if data.reminders is not msgspec.UNSET:
                await update_reminders(conn, user.id, data.reminders, prefix="reminders.")
            elif "timezone" in changes:
                # Reminder times are local: a new zone moves every planned one.
                await reminder_store.replan_patient(conn, user.id)
        return me_of(updated)

    @delete("", status_code=HTTP_204_NO_CONTENT)
    async def delete_me(
        self, user: CurrentUser, pool: DbPool, settings: AppSettings
    ) -> Response[None]:
        """Erase the account and every row of its data (cascades from users)."""
        async with transaction(pool) as conn:
            await user_store.delete_user(conn, user.id)
        return Response(
            None,
            status_code=HTTP_204_NO_CONTENT,
            cookies=[security.cleared_session_cookie(settings)],
        )
