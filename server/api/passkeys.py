"""Passkeys: sign in with one (`/api/v1/auth/passkey`), prove who one is again with one
(`/api/v1/auth/reauthenticate/passkey`), and the account's own (`/api/v1/me/passkeys`).

Each ceremony is two calls: ``…/options`` answers what the browser's
navigator.credentials.create() or .get() needs (the WebAuthn JSON of py_webauthn, with a fresh
challenge), and the call without it takes the browser's answer, base64url-encoded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from server.api.auth import Me, me_of
from server.domain.accounts import SessionState
from server.errors import NotSignedIn
from server.security import session_cookie, session_token
from server.services import passkeys
from server.services.passkeys import Assertion, Attestation, Passkey
from server.web import AppSettings, DbPool, Input, JSONBody, client_address, signed_in

# base64url of what an authenticator says: bounded, so nothing large reaches the checks.
B64 = Annotated[str, msgspec.Meta(min_length=1, max_length=16_384, pattern=r"^[A-Za-z0-9_-]+$")]
CredentialId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=1_366, pattern=r"^[A-Za-z0-9_-]+$")
]
Transport = Annotated[str, msgspec.Meta(max_length=32)]
AnyRequest = Request[Any, Any, Any]


class AttestationIn(Input):
    id: CredentialId
    client_data_json: B64
    attestation_object: B64
    transports: Annotated[list[Transport], msgspec.Meta(max_length=8)] = []
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class AssertionIn(Input):
    id: CredentialId
    client_data_json: B64
    authenticator_data: B64
    signature: B64
    user_handle: (
        Annotated[str, msgspec.Meta(max_length=128, pattern=r"^[A-Za-z0-9_-]*$")] | None
    ) = None


class PasskeyOut(msgspec.Struct):
    id: UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None


def _out(passkey: Passkey) -> PasskeyOut:
    return msgspec.convert(passkey, PasskeyOut, from_attributes=True)


def _assertion(data: AssertionIn) -> Assertion:
    assertion = msgspec.convert(data, Assertion, from_attributes=True)
    # An empty user handle counts as none.
    return msgspec.structs.replace(assertion, user_handle=data.user_handle or None)


def _session(request: AnyRequest) -> tuple[SessionState, str]:
    state: SessionState | None = request.auth
    token = session_token(request)
    if state is None or token is None:
        raise NotSignedIn()
    return state, token


def _options(text: str) -> Response[dict[str, Any]]:
    """py_webauthn's options as they are: WebAuthn's JSON, camelCase, binary in base64url."""
    options: dict[str, Any] = msgspec.json.decode(text)
    return Response(options, headers={"Cache-Control": "no-store"})


class PasskeySignInController(Controller):
    path = "/api/v1/auth"
    tags = ["accounts"]

    @post("/passkey/options", status_code=HTTP_200_OK)
    async def sign_in_options(
        self, request: AnyRequest, pool: DbPool, settings: AppSettings
    ) -> Response[dict[str, Any]]:
        """A challenge to sign in with any passkey of ours (discoverable, user verified)."""
        return _options(await passkeys.sign_in_options(pool, settings, client_address(request)))

    @post("/passkey", status_code=HTTP_200_OK)
    async def sign_in(
        self, request: AnyRequest, data: JSONBody[AssertionIn], pool: DbPool, settings: AppSettings
    ) -> Response[Me]:
        """Signed in, with no password and no second step: a passkey is both factors."""
        user, session = await passkeys.sign_in(
            pool,
            settings,
            _assertion(data),
            address=client_address(request),
            old_token=session_token(request),
        )
        return Response(me_of(user), cookies=[session_cookie(settings, session)])

    @post("/reauthenticate/passkey/options", status_code=HTTP_200_OK, guards=[signed_in])
    async def reauthentication_options(
        self, request: AnyRequest, pool: DbPool, settings: AppSettings
    ) -> Response[dict[str, Any]]:
        _, token = _session(request)
        return _options(await passkeys.reauthentication_options(pool, settings, token))

    @post("/reauthenticate/passkey", status_code=HTTP_204_NO_CONTENT, guards=[signed_in])
    async def reauthenticate(
        self, request: AnyRequest, data: JSONBody[AssertionIn], pool: DbPool, settings: AppSettings
    ) -> None:
        """The signed-in owner proved who they are again, with one of their passkeys."""
        _, token = _session(request)
        await passkeys.reauthenticate(pool, settings, token, _assertion(data))


class MyPasskeysController(Controller):
    path = "/api/v1/me/passkeys"
    tags = ["accounts"]
    guards = [signed_in]

    @get("", cache=False)
    async def list_passkeys(self, request: AnyRequest, pool: DbPool) -> list[PasskeyOut]:
        _, token = _session(request)
        return [_out(p) for p in await passkeys.list_passkeys(pool, token)]

    @post("/options", status_code=HTTP_200_OK)
    async def registration_options(
        self, request: AnyRequest, pool: DbPool, settings: AppSettings
    ) -> Response[dict[str, Any]]:
        """A challenge to make a passkey for this account (asks for a recent sign-in)."""
        state, token = _session(request)
        return _options(await passkeys.registration_options(pool, settings, state, token))

    @post("", status_code=HTTP_201_CREATED)
    async def register(
        self,
        request: AnyRequest,
        data: JSONBody[AttestationIn],
        pool: DbPool,
        settings: AppSettings,
    ) -> PasskeyOut:
        state, token = _session(request)
        attestation = Attestation(
            id=data.id,
            client_data_json=data.client_data_json,
            attestation_object=data.attestation_object,
            transports=data.transports,
        )
        added = await passkeys.register(
            pool,
            settings,
            state,
            token,
            attestation,
            name=data.name,
            address=client_address(request),
        )
        return _out(added)

    @delete("/{passkey_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def remove(self, request: AnyRequest, passkey_id: FromPath[UUID], pool: DbPool) -> None:
        state, token = _session(request)
        await passkeys.remove(pool, state, token, passkey_id, client_address(request))


PASSKEY_ROUTES = [PasskeySignInController, MyPasskeysController]
