"""Accounts: sign-up, sign-in (throttled), sign-out, password change, the profile, erasure,
and the clinician accounts operators make from the command line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from server.config import Settings
from server.db import Connection, Pool, transaction
from server.domain.accounts import (
    Role,
    SessionState,
    User,
    check_display_name,
    check_language,
    check_password,
    check_timezone,
    fold_email,
    normalise_email,
)
from server.domain.mail import Kind
from server.errors import AppError, Conflict, Forbidden, InvalidField, NotSignedIn
from server.i18n import N_, Language
from server.services import lockout, mail, passwords, reauthentication, sessions, throttle
from server.services.reminders import change_prefs
from server.services.sessions import NewSession
from server.store import account_tokens, audit
from server.store import reminders as reminder_store
from server.store import sessions as session_store
from server.store import users as user_store

SIGN_UP_LIMIT = 20  # counted sign-ups per client address in the throttle window (see register)


class NewAccount(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    password_hash: str
    display_name: str
    timezone: str
    language: Language = "en"


async def new_account(
    *, email: str, password: str, display_name: str, timezone: str, language: object = "en"
) -> NewAccount:
    """Every value checked (errors name the field) and the password hashed, before any
    connection is taken: hashing takes ~100 ms."""
    email = normalise_email(email)
    check_password(password)
    name = check_display_name(display_name)
    zone = check_timezone(timezone)
    chosen = check_language(language)
    password_hash = await passwords.hash_password(password)
    return NewAccount(
        email=email,
        password_hash=password_hash,
        display_name=name,
        timezone=zone,
        language=chosen,
    )


async def create_account(conn: Connection, account: NewAccount, role: Role) -> User:
    return await user_store.create_user(
        conn,
        email=account.email,
        role=role,
        password_hash=account.password_hash,
        display_name=account.display_name,
        timezone=account.timezone,
        language=account.language,
    )


async def register(
    pool: Pool,
    settings: Settings,
    *,
    email: str,
    password: str,
    display_name: str,
    timezone: str,
    address: str,
    language: object = "en",
) -> tuple[User, NewSession] | None:
    """A patient account. Clinicians come from the command line.

    Without email verification, signed in at once; an address that has an account is refused
    (409), and those refusals count against the client's address, so the form cannot test a
    list of addresses quickly. With verification, None ("check your email") for every address:
    a new one gets a link to confirm it, and the owner of an address that has an account a
    notice that someone tried; the answer, and the work before it, do not say which, and every
    sign-up counts against the client's address, as each mails someone."""
    by_address = "signup:" + address
    await throttle.check(pool, [(by_address, SIGN_UP_LIMIT)], N_("Too many sign-ups."))
    account = await new_account(
        email=email,
        password=password,
        display_name=display_name,
        timezone=timezone,
        language=language,
    )
    if settings.require_verified_email:
        await throttle.failed(pool, (by_address,))
        async with transaction(pool) as conn:
            try:
                async with conn.transaction():  # a savepoint: the address may be taken
                    await create_account(conn, account, "patient")
                kind: Kind = "verify_email"
            except Conflict:
                kind = "registration_attempt"
            await mail.queue(conn, account.email, kind)
        return None
    try:
        async with transaction(pool) as conn:
            user = await create_account(conn, account, "patient")
    except Conflict:
        await throttle.failed(pool, (by_address,))
        raise
    return user, await sessions.start_session(pool, settings, user, account.password_hash)


async def _require_confirmed_address(pool: Pool, user: User) -> None:
    """Sign-in of a patient whose address is not confirmed yet waits for it: a new link is
    mailed (not more than one every few minutes) and the sign-in refused."""
    async with transaction(pool) as conn:
        if await account_tokens.email_verified(conn, user.id):
            return
        await mail.queue(conn, user.email, "verify_email")
    raise Forbidden(
        "Confirm your email address first: open the link we have emailed you, then sign in."
    )


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
    planted before sign-in is useless). Each attempt is counted before the password is checked,
    per (account, address), per account and per address (services/lockout.py)."""
    counted = await lockout.begin(pool, settings, email=email, address=address)
    async with transaction(pool) as conn:
        found = await user_store.credentials_by_email(conn, fold_email(email))
    user, password_hash = found if found else (None, None)
    if (
        not await passwords.verify_password(password_hash, password)
        or user is None
        or password_hash is None
    ):
        await lockout.failed(pool, counted, user)
        raise AppError("Email or password is incorrect.", status=401)
    await lockout.succeeded(pool, counted)
    return await _enter(pool, settings, user, password_hash, address=address, old_token=old_token)


async def sign_in_with_link(
    pool: Pool, settings: Settings, *, token: str, address: str, old_token: str | None
) -> tuple[User, NewSession]:
    """The one-time link a locked account is mailed: it signs in as the right password does,
    and so leads to the same second step where the account has a second factor."""
    user, password_hash = await lockout.use_link(pool, token=token, address=address)
    return await _enter(pool, settings, user, password_hash, address=address, old_token=old_token)


async def _enter(
    pool: Pool,
    settings: Settings,
    user: User,
    password_hash: str,
    *,
    address: str,
    old_token: str | None,
) -> tuple[User, NewSession]:
    """Everything after the password (or the link standing in for it) was checked."""
    if settings.require_verified_email and user.role == "patient":
        await _require_confirmed_address(pool, user)
    if old_token:
        await sessions.end_session(pool, old_token)
    session = await sessions.start_session(pool, settings, user, password_hash)
    if session.second_factor_pending:  # signed in at the second step (services/mfa.py)
        return user, session
    async with transaction(pool) as conn:
        await audit.record_own(conn, user, "sign_in", address)
    return user, session


async def sign_out(pool: Pool, token: str | None) -> None:
    if token:
        await sessions.end_session(pool, token)


async def sign_out_everywhere(pool: Pool, user: User, address: str) -> None:
    """End every session of this account, this one too (a lost phone, a shared computer)."""
    async with transaction(pool) as conn:
        await audit.record_own(conn, user, "sign_out_everywhere", address)
        await session_store.delete_sessions_of(conn, user.id)


async def change_password(
    pool: Pool,
    user: User,
    *,
    current: str | None,
    new: str,
    token: str,
    state: SessionState | None,
    address: str,
) -> NewSession:
    """Change the password, end every other session of this account, and go on under a new
    token. The current password, typed here (throttled), or a re-authentication within the last
    five minutes proves it is the owner."""
    check_password(new, "new_password")
    if current is not None:
        await reauthentication.with_password(pool, user, token, current, field="current_password")
    else:
        reauthentication.require_recent(state)
    new_hash = await passwords.hash_password(new)
    renewed = sessions.new_token()
    async with transaction(pool) as conn:
        await user_store.set_password(conn, user.id, new_hash)
        ends = await session_store.rotate_session(conn, token, sessions.token_hash(renewed))
        if ends is None:
            raise NotSignedIn()
        await session_store.delete_sessions_of(conn, user.id, keep=sessions.token_hash(renewed))
        await audit.record_own(conn, user, "password_change", address)
    return sessions.renewed(renewed, ends)


async def update_profile(
    pool: Pool,
    user: User,
    profile: Mapping[str, Any],
    reminders: Mapping[str, Any] | None = None,
    *,
    address: str,
) -> User:
    """Change the fields given (display_name, timezone, clinic_phone, language) and, for a
    patient, their reminder preferences; reminders follow a new time zone at once."""
    changes: dict[str, Any] = {}
    if "display_name" in profile:
        changes["display_name"] = check_display_name(profile["display_name"])
    if "timezone" in profile:
        changes["timezone"] = check_timezone(profile["timezone"])
    if "clinic_phone" in profile:
        changes["clinic_phone"] = (profile["clinic_phone"] or "").strip() or None
    if "language" in profile:
        changes["language"] = check_language(profile["language"])
    if reminders is not None and user.role != "patient":
        raise InvalidField("reminders", "Only patients have reminders.")
    async with transaction(pool) as conn:
        updated = await user_store.update_profile(conn, user.id, changes)
        if reminders is not None:
            await change_prefs(conn, user.id, reminders, prefix="reminders.")
        elif "timezone" in changes or "language" in changes:
            # Reminder times are local: a new zone moves every planned one; a new language
            # rewrites what the planned ones say.
            await reminder_store.replan_patient(conn, user.id)
        if changes:  # which fields, never their values
            await audit.record_own(
                conn, user, "profile_change", address, {"fields": sorted(changes)}
            )
    return updated


async def erase(pool: Pool, user: User, state: SessionState | None, address: str) -> None:
    """Erase the account and every row of its data (cascades from users), once its owner has
    re-authenticated within the last five minutes. What clinicians saw, exported or changed of
    a patient's data stays accounted for under a random id that leads back to no one
    (migrations/0012)."""
    reauthentication.require_recent(state)
    async with transaction(pool) as conn:
        await audit.record_erasure(conn, user.id, address)
        await user_store.delete_user(conn, user.id)
