"""Second factors: enrolling an authenticator app (TOTP) with ten recovery codes, the second
step of a sign-in, removing the factor, and the operator's reset.

Where an account has a second factor, the right password opens only a session waiting for it
(services/sessions.py): that session can pass it here, with a code from the app or a recovery
code, each taken once, and then signs in under a new token; or sign out. Codes are throttled
per account, so six digits cannot be guessed. Every step is in the account's audit trail.
"""

from __future__ import annotations

import base64
import secrets

import msgspec

from server.config import Settings
from server.db import Connection, Pool, transaction
from server.domain import second_factor
from server.domain.accounts import SessionState, User
from server.errors import AppError, Conflict, InvalidField, NotFound
from server.i18n import N_
from server.services import reauthentication, sessions, throttle
from server.services.reauthentication import WRONG_CODE, read_code
from server.services.sessions import NewSession
from server.store import audit
from server.store import mfa as mfa_store
from server.store import users as user_store
from server.timeutil import utc_now

# Codes typed at the second step of a sign-in, per account. Only someone who had the password
# gets here.
WRONG = throttle.PAST_THE_PASSWORD
TOO_MANY = N_("Too many wrong codes.")
NO_SECOND_STEP = "No sign-in is waiting for a code. Sign in again."


class Enrolment(msgspec.Struct, frozen=True):
    secret: str  # base32, for typing into the app by hand
    otpauth_uri: str  # what the QR code holds


class Status(msgspec.Struct, frozen=True):
    totp: bool  # an authenticator app is set up
    enrolling: bool  # one is being set up, its first code not seen yet
    recovery_codes_left: int
    required: bool  # the account must have one (a clinician where the clinic says so)


def required_for(settings: Settings, user: User) -> bool:
    return user.role == "clinician" and settings.clinician_mfa == "required"


async def status(pool: Pool, settings: Settings, user: User, token: str) -> Status:
    async with transaction(pool) as conn:
        totp = await mfa_store.totp_of(conn, token)
    return Status(
        totp=totp is not None and totp.confirmed,
        enrolling=totp is not None and not totp.confirmed,
        recovery_codes_left=totp.recovery_codes_left if totp else 0,
        required=required_for(settings, user),
    )


async def begin_totp(
    pool: Pool, settings: Settings, user: User, token: str, state: SessionState | None
) -> Enrolment:
    """A new secret for the account's authenticator app, to be confirmed with its first code.
    Asks for a recent re-authentication: someone who found a signed-in phone must not be able to
    put a second factor of theirs on the account and shut its owner out."""
    reauthentication.require_recent(state)
    secret = _new_secret()
    async with transaction(pool) as conn:
        if not await mfa_store.begin_totp(conn, token, secret):
            raise Conflict(
                "An authenticator app is already set up. Remove it first to set up another."
            )
    return Enrolment(
        secret=secret,
        otpauth_uri=second_factor.provisioning_uri(secret, user.email, settings.mail_display_name),
    )


async def pending_enrolment(pool: Pool, settings: Settings, user: User, token: str) -> Enrolment:
    """The enrolment begun and not confirmed yet (the setup page shown again)."""
    async with transaction(pool) as conn:
        totp = await mfa_store.totp_of(conn, token)
    if totp is None or totp.confirmed:
        raise NotFound("No authenticator app is being set up.")
    return Enrolment(
        secret=totp.secret,
        otpauth_uri=second_factor.provisioning_uri(
            totp.secret, user.email, settings.mail_display_name
        ),
    )


async def confirm_totp(pool: Pool, user: User, token: str, code: str, address: str) -> list[str]:
    """The app's first right code confirms it: returns ten recovery codes, shown this once.
    Every other session of the account (signed in with the password alone) ends."""
    attempt = await throttle.attempt(pool, {_key(user): WRONG}, TOO_MANY)
    typed = second_factor.normalise_code(code)
    codes = _new_recovery_codes()
    async with transaction(pool) as conn:
        totp = await mfa_store.totp_of(conn, token)
        if totp is None or totp.confirmed:
            raise Conflict("Start setting up an authenticator app first.", field="code")
        step = second_factor.totp_step(totp.secret, typed, utc_now())
        hashes = [second_factor.recovery_code_hash(c) for c in codes]
        if step is None or not await mfa_store.confirm_totp(conn, token, step, hashes):
            raise InvalidField("code", WRONG_CODE)
        await audit.record_own(conn, user, "second_factor_add", address, {"kind": "totp"})
    await throttle.forgive(pool, attempt)
    return codes


async def pass_second_step(
    pool: Pool,
    settings: Settings,
    *,
    token: str | None,
    state: SessionState | None,
    code: str,
    address: str,
) -> tuple[User, NewSession]:
    """The second step of a sign-in: a right code, and the waiting session ``state`` (of the
    cookie ``token``) becomes a signed-in one under a new token."""
    if not token or state is None or not state.second_factor_pending:
        raise AppError(NO_SECOND_STEP, status=401)
    account = state.user
    async with transaction(pool) as conn:
        totp = await mfa_store.totp_of(conn, token)
    if totp is None or not totp.confirmed:
        raise AppError(NO_SECOND_STEP, status=401)
    attempt = await throttle.attempt(pool, {_key(account): WRONG}, TOO_MANY)
    typed = second_factor.normalise_code(code)
    try:
        step, recovery = read_code(totp.secret, typed)
    except InvalidField:
        step = recovery = None
    new = secrets.token_urlsafe(32)
    idle, absolute = sessions.session_lifetimes(settings, account.role)
    user = None
    async with transaction(pool) as conn:
        if step is not None or recovery is not None:
            user = await mfa_store.pass_second_factor(
                conn,
                token,
                new_token_hash=sessions.token_hash(new),
                idle_timeout=idle,
                expires_at=utc_now() + absolute,
                step=step,
                recovery_code_hash=recovery,
            )
        if user is None:
            await audit.note_sign_in(conn, account.id, "second_factor_failed", address)
        else:
            await audit.record_own(
                conn,
                user,
                "sign_in",
                address,
                {"second_factor": "totp" if step is not None else "recovery_code"},
            )
    if user is None:
        raise AppError(WRONG_CODE, field="code", status=401)
    await throttle.forgive(pool, attempt)
    return user, NewSession(token=new, max_age=int(absolute.total_seconds()))


async def remove_totp(
    pool: Pool, user: User, token: str, state: SessionState | None, address: str
) -> None:
    """The authenticator app off the account, and its recovery codes with it; asks for a recent
    re-authentication."""
    reauthentication.require_recent(state)
    async with transaction(pool) as conn:
        if not await mfa_store.remove_totp(conn, token):
            raise NotFound("No authenticator app is set up.")
        await audit.record_own(conn, user, "second_factor_remove", address, {"kind": "totp"})


async def reset(pool: Pool, email: str) -> User:
    """The operator's reset for someone who lost their phone and their recovery codes: the
    account's second factor gone, every session of it ended, and an audit row. Runs as the
    tables' owner (the command line)."""
    async with transaction(pool) as conn:
        user = await user_store.user_by_email(conn, email)
        if user is None:
            raise NotFound("No account has this address.", field="email")
        had = await mfa_store.reset(conn, user.id)
        await audit.record_by_operator(
            conn, user, "second_factor_reset", {"had_second_factor": had}
        )
    return user


async def give_demo_totp(conn: Connection, email: str) -> str:
    """The demo clinician's authenticator app, set up already where clinicians must have one
    (demo-data, as the tables' owner): its secret, for the demo to print."""
    user = await user_store.user_by_email(conn, email)
    if user is None:
        raise NotFound("No account has this address.", field="email")
    secret = _new_secret()
    await mfa_store.set_confirmed_totp(conn, user.id, secret)
    return secret


def _new_secret() -> str:
    """160 random bits in base32, as authenticator apps take them (RFC 4226's advice)."""
    return base64.b32encode(secrets.token_bytes(20)).decode()


def _new_recovery_codes() -> list[str]:
    alphabet, length = second_factor.RECOVERY_ALPHABET, second_factor.RECOVERY_LENGTH
    return [
        second_factor.recovery_code("".join(secrets.choice(alphabet) for _ in range(length)))
        for _ in range(second_factor.RECOVERY_CODES)
    ]


def _key(user: User) -> str:
    return f"second-step:{user.id}"
