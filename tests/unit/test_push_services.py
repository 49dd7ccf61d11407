"""Which push services, and which addresses, the reminder worker may reach: the pure rules
behind AFTERGLOW_PUSH_SERVICES (tests/push/test_destinations.py drives them end to end)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from server.config import ConfigError, Settings
from server.domain.devices import PushServices, is_public

SERVICES = PushServices(
    ("127.0.0.1:8123", "[::1]:8124", "fcm.googleapis.com", "*.push.apple.com"), production=False
)


@pytest.mark.parametrize(
    ("scheme", "host", "port", "listing"),
    [
        ("https", "fcm.googleapis.com", None, "listed"),
        ("https", "FCM.googleapis.com", 443, "listed"),
        ("https", "fcm.googleapis.com", 8443, None),
        ("https", "web.push.apple.com", None, "domain"),
        ("https", "a.b.push.apple.com", None, "domain"),
        ("https", "push.apple.com", None, None),  # `*.` is a name under the domain
        ("https", "web.push.apple.com.", None, None),
        ("https", "evilpush.apple.com", None, None),
        ("http", "web.push.apple.com", None, None),  # http only to a host listed by name
        ("http", "127.0.0.1", 8123, "listed"),
        ("http", "127.0.0.1", 8125, None),
        ("http", "127.0.0.1", None, None),
        ("http", "::1", 8124, "listed"),
        ("http", "[0:0::1]", 8124, "listed"),
        ("http", "localhost", 8123, None),
        ("http", "0x7f000001", 8123, None),
        ("http", "2130706433", 8123, None),
        ("http", "127.1", 8123, None),
        ("ftp", "fcm.googleapis.com", None, None),
    ],
)
def test_what_a_url_may_name(scheme: str, host: str, port: int | None, listing: str) -> None:
    assert SERVICES.listing(scheme, host, port) == listing


def test_production_posts_only_over_https() -> None:
    production = PushServices(SERVICES.patterns, production=True)
    assert production.listing("http", "127.0.0.1", 8123) is None
    assert production.listing("https", "127.0.0.1", 8123) == "listed"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("142.250.74.10", True),
        ("2a00:1450:4001:80b::200a", True),
        ("64:ff9b::8efa:4a0a", True),  # NAT64 of a public address
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("ff0e::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::7f00:1", False),  # IPv4-compatible
        ("64:ff9b::7f00:1", False),  # NAT64 of loopback
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of the metadata address
        ("64:ff9b:1::a00:1", False),  # local-use NAT64
        ("2002:7f00:1::", False),  # 6to4 of loopback
        ("2001::1", False),  # Teredo
    ],
)
def test_only_public_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "value", ["https://fcm.googleapis.com", "fcm.googleapis.com/x", "*", "*.", "a..b", "x:0"]
)
def test_a_malformed_push_service_names_the_variable(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="AFTERGLOW_PUSH_SERVICES"):
        Settings.from_env({"AFTERGLOW_DATA_DIR": str(tmp_path), "AFTERGLOW_PUSH_SERVICES": value})


def test_push_services_are_read_as_listed(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"AFTERGLOW_DATA_DIR": str(tmp_path), "AFTERGLOW_PUSH_SERVICES": " Push.Test:8443 ,*.x.org"}
    )
    assert settings.push_services == ("push.test:8443", "*.x.org")
    assert Settings().push_services == (
        "fcm.googleapis.com",
        "*.push.services.mozilla.com",
        "*.push.apple.com",
        "*.notify.windows.com",
    )
