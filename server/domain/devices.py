"""A user's devices: what a browser's push subscription must be before it is stored, which
push services (and which addresses) the worker may reach, the subscription as the sender needs
it, and how well pushes reach each device."""

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
# What RFC 3986 allows in a URL, and nothing else: no backslash, space or quote that two URL
# parsers (ours here, the sender's) could read differently.
_URL_TEXT = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")
_HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_DEFAULT_PORTS = {"https": 443, "http": 80}
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# How a push endpoint's host is allowed: "listed" by name or address (it may be anywhere, even
# on this machine, as the tests' local push service is), or under a listed `*.` "domain" (then
# only at public addresses, checked when the worker connects).
Listing = Literal["listed", "domain"]

Outcome = Literal["delivered", "gone", "retry", "timeout", "vapid_rejected", "rejected", "error"]
Delivery = Literal["delivered", "not_delivered", "none_yet"]


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
    failures_in_row: int


class DeviceReach(msgspec.Struct, frozen=True, kw_only=True):
    """One device as its patient sees it (their data export): whether reminders reached it
    lately, never what a push service answered."""

    id: UUID
    created_at: datetime
    last_delivered_at: datetime | None
    delivery: Delivery  # how the last push sent to it went


def reach_of(device: DeviceStatus) -> DeviceReach:
    if device.failures_in_row:
        delivery: Delivery = "not_delivered"
    else:
        delivery = "none_yet" if device.last_success_at is None else "delivered"
    return DeviceReach(
        id=device.id,
        created_at=device.created_at,
        last_delivered_at=device.last_success_at,
        delivery=delivery,
    )


class PushServices(msgspec.Struct, frozen=True):
    """The push services the worker may send to (AFTERGLOW_PUSH_SERVICES): host names or
    addresses, and `*.` domains, each with a port or, without one, the scheme's default port.

    A subscription names an address the server then posts to, so whoever subscribes chooses
    where the worker connects: only a browser's push service may be named, never the clinic's
    own network, this machine or a cloud metadata service.
    """

    patterns: tuple[str, ...]
    production: bool

    def listing(self, scheme: str, host: str, port: int | None) -> Listing | None:
        """How a URL's host and port are allowed, or None. Plain http only to a listed host,
        outside production (the tests' local push service)."""
        default = _DEFAULT_PORTS.get(scheme)
        if default is None:
            return None
        found = self._match(host, default if port is None else port, (default,))
        if scheme == "http" and (found != "listed" or self.production):
            return None
        return found

    def listed(self, host: str, port: int) -> bool:
        """Whether a host is listed by name: then its name may resolve to any address."""
        return self._match(host, port, tuple(_DEFAULT_PORTS.values())) == "listed"

    def _match(self, host: str, port: int, default_ports: tuple[int, ...]) -> Listing | None:
        host = _canonical_host(host)
        found: Listing | None = None
        for pattern in self.patterns:
            wildcard, name, wanted = _pattern(pattern)
            if port not in (default_ports if wanted is None else (wanted,)):
                continue
            if not wildcard and host == name:
                return "listed"
            if wildcard and host.endswith("." + name) and _HOST_NAME.match(host):
                found = "domain"
        return found


def _pattern(pattern: str) -> tuple[bool, str, int | None]:
    """`*.` or not, the host, the port if one is given: ``*.push.apple.com``, ``[::1]:8443``."""
    rest = pattern.removeprefix("*.")
    if rest.startswith("["):
        name, _, port = rest[1:].partition("]")
        port = port.removeprefix(":")
    else:
        name, _, port = rest.partition(":")
    return rest != pattern, _canonical_host(name), int(port) if port else None


def _canonical_host(host: str) -> str:
    """Lower case; an IP address in its one canonical form (brackets off an IPv6 one)."""
    host = host.lower().removeprefix("[").removesuffix("]")
    address = _ip(host)
    return host if address is None else str(address)


def is_public(address: Address) -> bool:
    """Whether an address is on the public internet, and not an IPv6 disguise of one that
    is not: an IPv4-mapped, NAT64 (64:ff9b::/96) or 6to4 address is judged by the IPv4 address
    it carries; any other IPv6 address must be global unicast (2000::/3)."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = address.ipv4_mapped or address.sixtofour
        if carried is None and address in _NAT64:
            carried = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if carried is not None:
            return is_public(carried)
        if address not in _GLOBAL_UNICAST:
            return False
    return address.is_global and not address.is_multicast


def check_endpoint(endpoint: str, services: PushServices, field: str = "endpoint") -> str:
    """The URL of an allowed push service, as a browser's push subscription gives it."""
    if len(endpoint) > ENDPOINT_MAX:
        raise InvalidField(field, f"Use at most {ENDPOINT_MAX} characters.")
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise InvalidField(field, "Not a URL.") from None
    host = parts.hostname or ""
    if parts.scheme not in _DEFAULT_PORTS or not host or not _URL_TEXT.match(endpoint):
        raise InvalidField(field, "Use the https URL the browser's push subscription gives.")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise InvalidField(field, "A push endpoint has no user name, password or fragment.")
    if _ip(host) is None and not _HOST_NAME.match(host):
        raise InvalidField(field, "This is not the host name of a push service.")
    if services.listing("https", host, port) is None:
        raise InvalidField(field, "This server does not send to that push service.")
    if services.listing(parts.scheme, host, port) is None:
        raise InvalidField(field, "A push endpoint must use https.")
    return endpoint


def _ip(host: str) -> Address | None:
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
