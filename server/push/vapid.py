"""VAPID keys (RFC 8292): the one key pair every push subscription is bound to.

Browsers subscribe with our public key; push services then refuse (403) pushes signed with any
other. Replacing the pair therefore orphans every subscription, so it is never done silently:
the key comes from ``AFTERGLOW_VAPID_PRIVATE_KEY`` or from ``vapid_private.pem`` in the data
folder, which dev and test create once when it is missing and never overwrite. In production a
missing key stops start-up with a message saying how to make one.
"""

from __future__ import annotations

import base64
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from server.config import ConfigError, Settings

KEY_FILE = "vapid_private.pem"
# What py_vapid accepts as the `sub` claim (RFC 8292 §2.1): a mailto: or https: contact.
_SUBJECT = re.compile(r"^(mailto:[^@\s]+@[^@\s]+|https://[^\s/]+\S*)$")


# A signed token is reused for one push service for this long, then signed afresh; each token
# itself is valid for TOKEN_LIFETIME (RFC 8292 allows up to 24 h).
TOKEN_REUSE = 3600
TOKEN_LIFETIME = 12 * 3600


@dataclass(frozen=True)
class VapidKeys:
    signer: Vapid02
    subject: str
    public_key: str  # the applicationServerKey: base64url of the uncompressed P-256 point
    source: str  # where the private key came from, for operators (never the key itself)
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict, compare=False, repr=False)

    def authorization(self, endpoint: str) -> str:
        """The `Authorization: vapid t=...,k=...` header for a push to ``endpoint``.

        An ECDSA signature costs about as much CPU as encrypting the payload, so the token for
        a push service (its origin is the `aud` claim) is reused for up to an hour. Each
        signature gets a fresh claims dict: py_vapid and pywebpush write `aud` and `exp` into the
        dict they are given.
        """
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        cached = self._tokens.get(audience)
        if cached is not None and cached[1] > now:
            return cached[0]
        claims = {"sub": self.subject, "aud": audience, "exp": int(now) + TOKEN_LIFETIME}
        header: str = self.signer.sign(claims)["Authorization"]
        self._tokens[audience] = (header, now + TOKEN_REUSE)
        return header


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def private_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def private_raw(key: ec.EllipticCurvePrivateKey) -> str:
    """The compact form for an environment variable: base64url of the 32-byte scalar."""
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def public_key_of(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def parse_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key as PEM, base64url DER, or base64url of the raw 32-byte scalar."""
    text = text.strip()
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            raw = b64url_decode("".join(text.split()))
            if len(raw) == 32:
                key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            else:
                key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"the VAPID private key cannot be read: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError("the VAPID private key must be a P-256 (prime256v1) EC key")
    return key


def key_path(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def create_key_file(path: Path) -> bool:
    """Write a new key to ``path`` unless one is there already; True if this call made it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(private_pem(new_private_key()))
    return True


def load_vapid_keys(settings: Settings) -> VapidKeys:
    """The app's VAPID keys; raises ConfigError with a clear message when there are none."""
    if not _SUBJECT.match(settings.vapid_subject):
        raise ConfigError(
            "AFTERGLOW_VAPID_SUBJECT must be a mailto: address or an https: URL, "
            f"not {settings.vapid_subject!r}"
        )
    if settings.vapid_private_key:
        key = parse_private_key(settings.vapid_private_key)
        source = "AFTERGLOW_VAPID_PRIVATE_KEY"
    else:
        path = key_path(settings)
        if not path.exists():
            if settings.env == "production":
                raise ConfigError(
                    "AFTERGLOW_VAPID_PRIVATE_KEY must be set when AFTERGLOW_ENV=production "
                    "(make a pair once with `python -m server vapid-keys` and keep it: a new "
                    "pair orphans every push subscription)"
                )
            create_key_file(path)
        key = parse_private_key(path.read_text())
        source = str(path)
    return VapidKeys(
        signer=Vapid02(key),
        subject=settings.vapid_subject,
        public_key=public_key_of(key),
        source=source,
    )
