"""A user's devices: what a browser's push subscription must be before it is stored, the
subscription as the sender needs it, and how well pushes reach each device."""

from __future__ import annotations

import base64
import ipaddress
import re
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit
from uuid import UUID

import msgspec
from cryptography.hazmat.primitives.asymmetric import ec

from server.errors import InvalidField

ENDPOINT_MAX = 2048
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")

Outcome = Literal["delivered", "gone", "retry", "timeout", "vapid_rejected", "rejected", "error"]


class Device(msgspec.Struct, frozen=True):
    """A stored subscription, as the sender needs it."""

    id: UUID
    endpoint: str
    p256dh: str
    auth: str


class DeviceStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Whether pushes reach one device: for the clinician's view of a patient."""

    id: UUID
    created_at: datetime
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_failure_status: int | None
    failures_in_row: int


def check_endpoint(endpoint: str, *, production: bool, field: str = "endpoint") -> str:
    """An https URL of a push service; plain http only to this machine, outside production.

    In production, hosts given as private, loopback or link-local addresses are refused so a
    subscription cannot point the worker at the clinic's own network.
    """
    if len(endpoint) > ENDPOINT_MAX:
        raise InvalidField(field, f"Use at most {ENDPOINT_MAX} characters.")
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise InvalidField(field, "Not a URL.") from None
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host or any(c.isspace() for c in endpoint):
        raise InvalidField(field, "Use the https URL the browser's push subscription gives.")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise InvalidField(field, "A push endpoint has no user name, password or fragment.")
    address = _ip(host)
    loopback = host == "localhost" or (address is not None and address.is_loopback)
    if parts.scheme == "http" and not (loopback and not production):
        raise InvalidField(field, "A push endpoint must use https.")
    private = loopback or host.endswith(".local") or (address is not None and not address.is_global)
    if production and private:
        raise InvalidField(field, "A push endpoint must be on the public internet.")
    return endpoint


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_p256dh(value: str, field: str = "keys.p256dh") -> str:
    """The browser's ECDH public key: a point on P-256, uncompressed (65 bytes), base64url."""
    raw = _b64url_bytes(value, field)
    if len(raw) != 65 or raw[0] != 4:
        raise InvalidField(field, "Expected a 65-byte uncompressed P-256 point, base64url.")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise InvalidField(field, "This is not a point on the P-256 curve.") from None
    return value.rstrip("=")


def check_auth(value: str, field: str = "keys.auth") -> str:
    """The browser's authentication secret: 16 bytes, base64url."""
    if len(_b64url_bytes(value, field)) != 16:
        raise InvalidField(field, "Expected a 16-byte secret, base64url.")
    return value.rstrip("=")


def _b64url_bytes(value: str, field: str) -> bytes:
    if not _B64URL.match(value) or len(value) > 200:
        raise InvalidField(field, "Expected base64url (A-Z a-z 0-9 - _).")
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except ValueError:
        raise InvalidField(field, "Expected base64url (A-Z a-z 0-9 - _).") from None
