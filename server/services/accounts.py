"""Accounts: sign-up, sign-in (throttled), sign-out, password change, the profile, erasure,
and the clinician accounts operators make from the command line."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import msgspec

from server.config import Settings
from server.db import Connection, Pool, transaction
from server.domain.accounts import (
    Role,
    User,
    check_display_name,
    check_password,
    check_timezone,
    normalise_email,
)
from server.errors import AppError, InvalidField
from server.services import passwords, sessions, throttle
from server.services.reminders import change_prefs
from server.services.sessions import NewSession
from server.store import audit
from server.store import reminders as reminder_store
from server.store import sessions as session_store
from server.store import users as user_store

ACCOUNT_LIMIT = 5  # failed sign-ins per account in the throttle window (15 minutes)
ADDRESS_LIMIT = 20  # ... and per address


class NewAccount(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    password_hash: str
    display_name: str
    timezone: str


async def new_account(*, email: str, password: str, display_name: str, timezone: str) -> NewAccount:
    """Every value checked (errors name the field) and the password hashed, before any
    connection is taken: hashing takes ~100 ms."""
    email = normalise_email(email)
    check_password(password)
    name = check_display_name(display_name)
    zone = check_timezone(timezone)
    password_hash = await passwords.hash_password(password)
    return NewAccount(email=email, password_hash=password_hash, display_name=name, timezone=zone)


async def create_account(conn: Connection, account: NewAccount, role: Role) -> User:
    return await user_store.create_user(
        conn,
        email=account.email,
        role=role,
        password_hash=account.password_hash,
        display_name=account.display_name,
        timezone=account.timezone,
    )


async def register(
    pool: Pool, settings: Settings, *, email: str, password: str, display_name: str, timezone: str
) -> tuple[User, NewSession]:
    """A patient account, signed in. Clinicians come from the command line."""
    account = await new_account(
        email=email, password=password, display_name=display_name, timezone=timezone
    )
    async with transaction(pool) as conn:
        user = await create_account(conn, account, "patient")
    return user, await sessions.start_session(pool, settings, user)


def _throttle_keys(email: str, address: str) -> tuple[str, str]:
    # The account key is a hash: unknown emails typed at the login form are not kept.
    account = "acct:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return account, "addr:" + address


async def sign_in(
    pool: Pool,
    settings: Settings,
    *,
    email: str,
    password: str,
    address: str,
    old_token: str | None,
) -> tuple[User, NewSession]:
    """A new session for the right password; the session the browser had is ended (a token
    planted before sign-in is useless). Throttled per account and per address."""
    account, by_address = _throttle_keys(email, address)
    await throttle.check(
        pool, [(account, ACCOUNT_LIMIT), (by_address, ADDRESS_LIMIT)], "Too many failed sign-ins."
    )
    async with transaction(pool) as conn:
        found = await user_store.credentials_by_email(conn, email.strip())
    user, password_hash = found if found else (None, None)
    if not await passwords.verify_password(password_hash, password) or user is None:
        await throttle.failed(pool, (account, by_address))
        raise AppError("Email or password is incorrect.", status=401)
    await throttle.forget(pool, account)
    if old_token:
        await sessions.end_session(pool, old_token)
    session = await sessions.start_session(pool, settings, user)
    async with transaction(pool) as conn:
        # A patient's sign-ins appear in their access log; a clinician's concern no patient.
        patient_id = user.id if user.role == "patient" else None
        await audit.record(
            conn, actor=user, patient_id=patient_id, action="sign_in", address=address
        )
    return user, session


async def sign_out(pool: Pool, token: str | None) -> None:
    if token:
        await sessions.end_session(pool, token)


async def change_password(
    pool: Pool, user: User, *, current: str, new: str, keep_token: str | None
) -> None:
    """Change the password and end every other session of this account."""
    check_password(new, "new_password")
    async with transaction(pool) as conn:
        stored = await user_store.password_hash_of(conn, user.id)
    if not await passwords.verify_password(stored, current):
        raise AppError("The current password is incorrect.", field="current_password")
    new_hash = await passwords.hash_password(new)
    async with transaction(pool) as conn:
        await user_store.set_password(conn, user.id, new_hash)
        await session_store.delete_sessions_of(
            conn, user.id, keep=sessions.token_hash(keep_token or "")
        )


async def update_profile(
    pool: Pool,
    user: User,
    profile: Mapping[str, Any],
    reminders: Mapping[str, Any] | None = None,
) -> User:
    """Change the fields given (display_name, timezone, clinic_phone) and, for a patient, their
    reminder preferences; reminders follow a new time zone at once."""
    changes: dict[str, Any] = {}
    if "display_name" in profile:
        changes["display_name"] = check_display_name(profile["display_name"])
    if "timezone" in profile:
        changes["timezone"] = check_timezone(profile["timezone"])
    if "clinic_phone" in profile:
        changes["clinic_phone"] = (profile["clinic_phone"] or "").strip() or None
    if reminders is not None and user.role != "patient":
        raise InvalidField("reminders", "Only patients have reminders.")
    async with transaction(pool) as conn:
        updated = await user_store.update_profile(conn, user.id, changes)
        if reminders is not None:
            await change_prefs(conn, user.id, reminders, prefix="reminders.")
        elif "timezone" in changes:
            # Reminder times are local: a new zone moves every planned one.
            await reminder_store.replan_patient(conn, user.id)
    return updated


async def erase(pool: Pool, user: User) -> None:
    """Erase the account and every row of its data (cascades from users)."""
    async with transaction(pool) as conn:
        await user_store.delete_user(conn, user.id)
