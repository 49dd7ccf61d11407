"""What a page shows once after a redirect-after-post, sealed in a cookie.

A new share code must be shown to the patient once, yet the page that shows it must be a GET
(so a reload makes no second code), and the code is kept nowhere on the server (only its hash
is stored) and never put in a URL (URLs end up in logs and history). So the POST seals it in a
short-lived cookie for the page it redirects to, which opens it and clears it.

Sealed with AES-GCM under a key derived from AFTERGLOW_SECRET_KEY, so any app process can open
it; bound to the account it was made for (a copied cookie opens for nobody else) and good for
a minute.
"""

from __future__ import annotations

import base64
import os
import time
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from litestar import Request
from litestar.datastructures import Cookie

from server.config import Settings

COOKIE = "afterglow_once"
LIFETIME_SECONDS = 60
NONCE_BYTES = 12

T = TypeVar("T", bound=msgspec.Struct)


class _Sealed(msgspec.Struct, frozen=True):
    expires: float
    body: msgspec.Raw


def _cipher(settings: Settings) -> AESGCM:
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=b"afterglow: shown once").derive(
        settings.secret_key.encode()
    )
    return AESGCM(key)


def seal(settings: Settings, account: UUID, path: str, message: msgspec.Struct) -> Cookie:
    """A cookie for ``path`` carrying ``message`` for ``account``, to be opened by ``take``."""
    sealed = _Sealed(time.time() + LIFETIME_SECONDS, msgspec.Raw(msgspec.json.encode(message)))
    nonce = os.urandom(NONCE_BYTES)
    box = _cipher(settings).encrypt(nonce, msgspec.json.encode(sealed), account.bytes)
    return Cookie(
        key=COOKIE,
        value=base64.urlsafe_b64encode(nonce + box).decode(),
        path=path,
        max_age=LIFETIME_SECONDS,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


def take(
    request: Request[Any, Any, Any], settings: Settings, account: UUID, kind: type[T]
) -> T | None:
    """The message sealed for ``account``, if the request carries one still good; else None.
    The page that shows it clears the cookie (``cleared``)."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value.encode())
        plain = _cipher(settings).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], account.bytes)
        sealed = msgspec.json.decode(plain, type=_Sealed)
        if sealed.expires < time.time():
            return None
        return msgspec.json.decode(sealed.body, type=kind)
    except (ValueError, InvalidTag, msgspec.DecodeError):
        return None  # tampered with, another key or account, or not ours: nothing to show


def cleared(settings: Settings, path: str) -> Cookie:
    return Cookie(
        key=COOKIE,
        value="",
        path=path,
        max_age=0,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
