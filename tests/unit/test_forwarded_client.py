"""Reading X-Forwarded-For: from the right, through the listed proxies only, valid IPs only."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from server.security import forwarded_client

PROXIES = (ip_network("10.0.0.0/8"), ip_network("::1/128"))


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("192.0.2.7", "203.0.113.1", "192.0.2.7"),  # not a proxy: the header is its own claim
        ("10.0.0.2", "203.0.113.1", "203.0.113.1"),
        ("10.0.0.2", "6.6.6.6, 203.0.113.1, 10.0.0.3", "203.0.113.1"),
        ("10.0.0.2", "10.0.0.4, 10.0.0.3", "10.0.0.4"),  # proxies all the way: the first
        ("10.0.0.2", "203.0.113.1:4711", "10.0.0.2"),  # a port: not an address
        ("10.0.0.2", "", "10.0.0.2"),
        ("10.0.0.2", "6.6.6.6, unknown", "10.0.0.2"),
        ("10.0.0.2", "203.0.113.1, unknown, 10.0.0.3", "10.0.0.3"),
        ("::ffff:10.0.0.2", "203.0.113.1", "203.0.113.1"),  # a proxy reached over IPv6 sockets
        ("::1", "::ffff:203.0.113.1", "203.0.113.1"),
        ("unknown", "203.0.113.1", "unknown"),
    ],
)
def test_forwarded_client(peer: str, header: str, client: str) -> None:
    assert forwarded_client(peer, header, PROXIES) == client
