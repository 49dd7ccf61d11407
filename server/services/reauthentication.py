"""Re-authentication: before the steps that would let whoever holds a signed-in device keep the
account or end it (deleting it, changing the password, removing a second factor), its owner
proves who they are again: a password, a code from their authenticator app or a recovery code,
or a passkey, within the last five minutes. Signing in counts. The moment is kept on the
session (migrations/0017), so it holds in every app process and ends with the session.

A passkey checked elsewhere counts through ``record``; a password or a code through the
functions here, which throttle wrong ones per account.
"""

from __future__ import annotations

from datetime import timedelta

from server.db import Pool, transaction
from server.domain import second_factor
from server.domain.accounts import SessionState, User
from server.errors import InvalidField, NotSignedIn, ReauthenticationRequired
from server.i18n import N_
from server.services import passwords, throttle
from server.store import mfa as mfa_store
from server.store import sessions as session_store
from server.store import users as user_store
from server.timeutil import utc_now

RECENT = timedelta(minutes=5)
# Wrong passwords or codes typed by a signed-in account: the holder of a session (a phone left
# unlocked).
WRONG = throttle.PAST_THE_PASSWORD
TOO_MANY = N_("Too many wrong passwords or codes.")


def require_recent(state: SessionState | None) -> None:
    """Refuse (403 reauthentication-required) unless the session's owner proved who they are
    within the last five minutes."""
    if state is None or utc_now() - state.reauthenticated_at > RECENT:
        raise ReauthenticationRequired()


def is_recent(state: SessionState | None) -> bool:
    return state is not None and utc_now() - state.reauthenticated_at <= RECENT


async def record(pool: Pool, token: str) -> None:
    """The owner of ``token``'s session just proved who they are (a passkey, checked by the
    caller)."""
    async with transaction(pool) as conn:
        if not await session_store.mark_reauthenticated(conn, token):
            raise NotSignedIn()


async def with_password(
    pool: Pool, user: User, token: str, password: str, *, field: str = "password"
) -> None:
    """The account's password typed again: right, and the session is re-authenticated now;
    wrong, 400 naming ``field``, counted against the account."""
    attempt = await throttle.attempt(pool, {_key(user): WRONG}, TOO_MANY)
    async with transaction(pool) as conn:
        stored = await user_store.password_hash_of_session(conn, token)
    if stored is None:
        raise NotSignedIn()
    if not await passwords.verify_password(stored, password):
        wrong = "current password" if field == "current_password" else "password"
        raise InvalidField(field, f"The {wrong} is incorrect.")
    async with transaction(pool) as conn:
        if not await session_store.mark_reauthenticated(conn, token):
            raise NotSignedIn()
    await throttle.forgive(pool, attempt)


async def with_code(pool: Pool, user: User, token: str, code: str) -> None:
    """A code from the account's authenticator app, or one of its recovery codes, each taken
    once: the session is re-authenticated now. Wrong, 400 naming ``code``, counted."""
    attempt = await throttle.attempt(pool, {_key(user): WRONG}, TOO_MANY)
    typed = second_factor.normalise_code(code)
    async with transaction(pool) as conn:
        totp = await mfa_store.totp_of(conn, token)
        if totp is None or not totp.confirmed:
            raise InvalidField("code", "This account has no authenticator app set up.")
        step, recovery = read_code(totp.secret, typed)
        if not await mfa_store.reauthenticate_with_code(conn, token, step, recovery):
            raise InvalidField("code", WRONG_CODE)
    await throttle.forgive(pool, attempt)


WRONG_CODE = "That code is not right, or was already used. Codes change every 30 seconds."


def read_code(secret: str, typed: str) -> tuple[int | None, bytes | None]:
    """What ``typed`` (normalised) stands for: the TOTP step it is the code of, or a recovery
    code's hash. A code that is neither is wrong at once."""
    kind = second_factor.kind_of(typed)
    if kind == "totp":
        step = second_factor.totp_step(secret, typed, utc_now())
        if step is not None:
            return step, None
    elif kind == "recovery_code":
        return None, second_factor.recovery_code_hash(typed)
    raise InvalidField("code", WRONG_CODE)


def _key(user: User) -> str:
    return f"reauth:{user.id}"
