"""A passkey authenticator in software, for API tests: it answers the options our server gives
(the WebAuthn JSON of ``…/options``) as a phone's platform authenticator would, with a P-256 key
per passkey, "none" attestation and a signature counter, and it can be told to misbehave (skip
user verification, sign for another origin, repeat a counter).

Browser tests use Chromium's own virtual authenticator instead (DevTools WebAuthn domain).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40  # authenticator data flags: user present, verified; key follows


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StoredPasskey:
    def __init__(self, rp_id: str, user_handle: bytes) -> None:
        self.rp_id = rp_id
        self.user_handle = user_handle
        self.credential_id = secrets.token_bytes(32)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.sign_count = 0

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return bytes(
            cbor2.dumps(
                {
                    1: 2,  # kty: EC2
                    3: -7,  # alg: ES256
                    -1: 1,  # crv: P-256
                    -2: numbers.x.to_bytes(32, "big"),
                    -3: numbers.y.to_bytes(32, "big"),
                }
            )
        )


class Authenticator:
    """One phone's passkeys. ``origin`` is the page the browser would be on."""

    def __init__(self, origin: str, *, counts: bool = False) -> None:
        self.origin = origin
        self.counts = counts  # keeps a signature counter (many platform authenticators say 0)
        self.passkeys: list[StoredPasskey] = []
        self.verifies_user = True

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        said = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps({**said, "crossOrigin": False}).encode()

    def _flags(self, extra: int = 0) -> int:
        return UP | (UV if self.verifies_user else 0) | extra

    def create(self, options: dict[str, Any], *, origin: str | None = None) -> dict[str, Any]:
        """navigator.credentials.create(): a new passkey, answered as our API takes it."""
        rp_id = options["rp"]["id"]
        passkey = StoredPasskey(rp_id, unb64url(options["user"]["id"]))
        self.passkeys.append(passkey)
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        credential = bytes(16) + len(passkey.credential_id).to_bytes(2, "big")
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self._flags(AT)])
            + passkey.sign_count.to_bytes(4, "big")
            + credential
            + passkey.credential_id
            + passkey.cose_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(passkey.credential_id),
            "client_data_json": b64url(client_data),
            "attestation_object": b64url(bytes(attestation)),
            "transports": ["internal"],
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        passkey: StoredPasskey | None = None,
        repeat_count: bool = False,
    ) -> dict[str, Any]:
        """navigator.credentials.get(): a signature over the challenge with the passkey for the
        options' relying party (the last one made, unless told)."""
        rp_id = options["rpId"]
        passkey = passkey or next(p for p in reversed(self.passkeys) if p.rp_id == rp_id)
        if self.counts and not repeat_count:
            passkey.sign_count += 1
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self._flags()])
            + passkey.sign_count.to_bytes(4, "big")
        )
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = passkey.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(passkey.credential_id),
            "client_data_json": b64url(client_data),
            "authenticator_data": b64url(auth_data),
            "signature": b64url(signature),
            "user_handle": b64url(passkey.user_handle),
        }


async def add_passkey(client: Any, authenticator: Authenticator, name: str = "My phone") -> Any:
    """Register a passkey for the client's signed-in account; the API's answer."""
    options = await client.post("/api/v1/me/passkeys/options")
    assert options.status_code == 200, options.text
    made = authenticator.create(options.json())
    return await client.post("/api/v1/me/passkeys", json={**made, "name": name})


async def passkey_sign_in(client: Any, authenticator: Authenticator, **how: Any) -> Any:
    """Sign in with a passkey; the API's answer."""
    options = await client.post("/api/v1/auth/passkey/options")
    assert options.status_code == 200, options.text
    return await client.post("/api/v1/auth/passkey", json=authenticator.get(options.json(), **how))
