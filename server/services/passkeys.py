"""Passkeys (WebAuthn, with py_webauthn): register one on Settings, sign in with it instead of a
password, prove who one is again with it.

The relying party is the host of ``AFTERGLOW_PUBLIC_URL`` (browsers refuse an IP address), and
the only origin accepted is that URL's. Every ceremony's challenge is made here, stored (single
use, five minutes) and taken before the browser's answer is checked. Passkeys are discoverable
(the phone offers them without an email typed) and user verification (a fingerprint, a face,
the phone's PIN) is required: so a passkey sign-in is two factors at once, and a clinician's
passkey is a second factor beside, or instead of, an authenticator app (migrations/0018).

A passkey is something that signs in to the account: adding one, like removing one, asks that
its owner proved who they are in the last minutes (services/reauthentication.py).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from datetime import timedelta
from urllib.parse import urlsplit
from uuid import UUID

import msgspec
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorAssertionResponse,
    AuthenticatorAttestationResponse,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from server.config import Settings
from server.db import Pool, transaction
from server.domain.accounts import SessionState, User
from server.errors import AppError, Conflict, InvalidField, NotFound, NotSignedIn
from server.i18n import N_
from server.services import reauthentication, sessions, throttle
from server.services.sessions import NewSession
from server.store import audit
from server.store import passkeys as store
from server.store.passkeys import Passkey as Passkey  # what the API lists
from server.store.passkeys import Purpose
from server.timeutil import utc_now

CHALLENGE_LIFETIME = timedelta(minutes=5)
TIMEOUT_MS = 120_000  # what the browser gives its owner to answer
OPTIONS_LIMIT = 60  # passkey ceremonies begun per client address in the throttle window
NAME_MAX = 60
EXPIRED = "This took too long or was already used. Try again."
NOT_CHECKED = "This passkey could not be checked. Try again, or sign in with your password."
TRANSPORTS = {t.value: t for t in AuthenticatorTransport}


class Attestation(msgspec.Struct, frozen=True, kw_only=True):
    """A new passkey, as the browser's navigator.credentials.create() answered (base64url)."""

    id: str
    client_data_json: str
    attestation_object: str
    transports: list[str] = []


class Assertion(msgspec.Struct, frozen=True, kw_only=True):
    """A passkey's signature, as navigator.credentials.get() answered (base64url)."""

    id: str
    client_data_json: str
    authenticator_data: str
    signature: str
    user_handle: str | None = None


def relying_party(settings: Settings) -> tuple[str, str]:
    """(the RP id, the one origin accepted), both from AFTERGLOW_PUBLIC_URL."""
    url = urlsplit(settings.public_url)
    return url.hostname or "localhost", f"{url.scheme}://{url.netloc}"


def _bytes(text: str, field: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidField(field, "This is not base64url.") from None


def _challenge_of(client_data_json: bytes) -> bytes:
    """The challenge the browser signed, to find it among ours before anything is checked."""
    try:
        said = json.loads(client_data_json)
        return _bytes(str(said["challenge"]), "client_data_json")
    except (ValueError, KeyError, TypeError):
        raise InvalidField("client_data_json", "This is not a browser's client data.") from None


def _name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        return f"Passkey added {utc_now():%Y-%m-%d}"
    if len(name) > NAME_MAX or not name.isprintable():
        raise InvalidField("name", f"A name on one line, at most {NAME_MAX} characters.")
    return name


async def _challenge(
    pool: Pool, token: str | None, purpose: Purpose, address: str | None = None
) -> bytes:
    if address is not None:  # before sign-in: anyone may ask, so count who does
        key = "passkeys:" + address
        await throttle.check(pool, [(key, OPTIONS_LIMIT)], N_("Too many passkey sign-ins."))
        await throttle.failed(pool, (key,))
    challenge = secrets.token_bytes(32)
    async with transaction(pool) as conn:
        if not await store.new_challenge(conn, token, challenge, purpose, CHALLENGE_LIFETIME):
            raise NotSignedIn()
    return challenge


async def _take(pool: Pool, token: str | None, client_data: bytes, purpose: Purpose) -> bytes:
    challenge = _challenge_of(client_data)
    async with transaction(pool) as conn:
        live = await store.take_challenge(conn, token, challenge, purpose)
    if not live:
        raise InvalidField("client_data_json", EXPIRED)
    return challenge


# --- on Settings ---------------------------------------------------------------------------


async def list_passkeys(pool: Pool, token: str) -> list[Passkey]:
    async with transaction(pool) as conn:
        return await store.passkeys_of(conn, token)


async def registration_options(
    pool: Pool, settings: Settings, state: SessionState, token: str
) -> str:
    """What navigator.credentials.create() needs (JSON), for the signed-in account."""
    reauthentication.require_recent(state)
    user = state.user
    existing = await list_passkeys(pool, token)
    challenge = await _challenge(pool, token, "register")
    rp_id, _ = relying_party(settings)
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=settings.mail_display_name,
        user_name=user.email,
        user_id=user.id.bytes,
        user_display_name=user.display_name,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=p.credential_id) for p in existing],
    )
    return options_to_json(options)


async def register(
    pool: Pool,
    settings: Settings,
    state: SessionState,
    token: str,
    attestation: Attestation,
    *,
    name: str | None,
    address: str,
) -> Passkey:
    """Keep the passkey the browser made for our challenge, once its attestation is checked."""
    reauthentication.require_recent(state)
    label = _name(name)
    client_data = _bytes(attestation.client_data_json, "client_data_json")
    challenge = await _take(pool, token, client_data, "register")
    rp_id, origin = relying_party(settings)
    credential = RegistrationCredential(
        id=attestation.id,
        raw_id=_bytes(attestation.id, "id"),
        response=AuthenticatorAttestationResponse(
            client_data_json=client_data,
            attestation_object=_bytes(attestation.attestation_object, "attestation_object"),
            transports=[TRANSPORTS[t] for t in attestation.transports if t in TRANSPORTS],
        ),
    )
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except WebAuthnException:
        raise InvalidField("attestation_object", NOT_CHECKED) from None
    async with transaction(pool) as conn:
        added = await store.add(
            conn,
            token,
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=[t for t in attestation.transports if t in TRANSPORTS],
            name=label,
        )
        if added is None:
            raise Conflict("This passkey is registered already.")
        await audit.record_own(conn, state.user, "passkey_add", address)
        return next(p for p in await store.passkeys_of(conn, token) if p.id == added)


async def remove(pool: Pool, state: SessionState, token: str, passkey: UUID, address: str) -> None:
    """A clinician's passkey may be their second factor: like any, removed only by its owner
    who proved who they are in the last minutes."""
    reauthentication.require_recent(state)
    async with transaction(pool) as conn:
        if not await store.remove(conn, token, passkey):
            raise NotFound("No such passkey.")
        await audit.record_own(conn, state.user, "passkey_remove", address)


# --- signing in, and proving who one is again -----------------------------------------------


async def sign_in_options(pool: Pool, settings: Settings, address: str) -> str:
    """What navigator.credentials.get() needs (JSON) to sign in: any passkey of ours."""
    challenge = await _challenge(pool, None, "sign_in", address)
    return options_to_json(
        generate_authentication_options(
            rp_id=relying_party(settings)[0],
            challenge=challenge,
            timeout=TIMEOUT_MS,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
    )


async def reauthentication_options(pool: Pool, settings: Settings, token: str) -> str:
    """What navigator.credentials.get() needs (JSON) to prove, with one of the signed-in
    account's own passkeys, that its owner is still the one at the screen."""
    mine = await list_passkeys(pool, token)
    if not mine:
        raise NotFound("This account has no passkey.")
    challenge = await _challenge(pool, token, "reauthenticate")
    return options_to_json(
        generate_authentication_options(
            rp_id=relying_party(settings)[0],
            challenge=challenge,
            timeout=TIMEOUT_MS,
            allow_credentials=[PublicKeyCredentialDescriptor(id=p.credential_id) for p in mine],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
    )


async def _checked(
    pool: Pool, settings: Settings, token: str | None, assertion: Assertion, purpose: Purpose
) -> tuple[store.StoredKey, bytes, int]:
    """The passkey that signed our challenge, its credential id and its new counter; 401 for
    anything else (an unknown passkey, a signature that does not check out)."""
    client_data = _bytes(assertion.client_data_json, "client_data_json")
    challenge = await _take(pool, token, client_data, purpose)
    raw_id = _bytes(assertion.id, "id")
    async with transaction(pool) as conn:
        key = await store.for_sign_in(conn, raw_id)
    handle = _bytes(assertion.user_handle, "user_handle") if assertion.user_handle else None
    if key is None or (handle is not None and handle != key.user_id.bytes):
        raise AppError("This passkey is not registered here.", status=401)
    rp_id, origin = relying_party(settings)
    credential = AuthenticationCredential(
        id=assertion.id,
        raw_id=raw_id,
        response=AuthenticatorAssertionResponse(
            client_data_json=client_data,
            authenticator_data=_bytes(assertion.authenticator_data, "authenticator_data"),
            signature=_bytes(assertion.signature, "signature"),
            user_handle=handle,
        ),
    )
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=key.public_key,
            credential_current_sign_count=key.sign_count,
            require_user_verification=True,
        )
    except WebAuthnException:
        raise AppError(NOT_CHECKED, status=401) from None
    return key, raw_id, verified.new_sign_count


async def sign_in(
    pool: Pool,
    settings: Settings,
    assertion: Assertion,
    *,
    address: str,
    old_token: str | None,
) -> tuple[User, NewSession]:
    """A signed-in session for the passkey's account, past any second factor (the passkey is
    two), and freshly re-authenticated; the session the browser had is ended."""
    key, credential_id, sign_count = await _checked(pool, settings, None, assertion, "sign_in")
    if old_token:
        await sessions.end_session(pool, old_token)
    token = secrets.token_urlsafe(32)
    idle, absolute = sessions.session_lifetimes(settings, key.role)
    async with transaction(pool) as conn:
        user = await store.start_session(
            conn,
            credential_id=credential_id,
            sign_count=sign_count,
            token_hash=sessions.token_hash(token),
            idle_timeout=idle,
            expires_at=utc_now() + absolute,
        )
        if user is None:  # the same signature twice, or a cloned authenticator
            raise AppError(NOT_CHECKED, status=401)
        await audit.record_own(conn, user, "sign_in", address, {"with": "passkey"})
    return user, NewSession(token=token, max_age=int(absolute.total_seconds()))


async def reauthenticate(pool: Pool, settings: Settings, token: str, assertion: Assertion) -> None:
    """The signed-in session's owner proved who they are again with one of their passkeys."""
    _, credential_id, sign_count = await _checked(
        pool, settings, token, assertion, "reauthenticate"
    )
    async with transaction(pool) as conn:
        if not await store.reauthenticate(conn, token, credential_id, sign_count):
            raise AppError(NOT_CHECKED, status=401)
