"""The worker's HTTP client, which connects only to allowed push services.

Whoever subscribes a device names the URL the worker will post to, so every connection is
checked where it is made, not only when the subscription was stored: the URL's host and port
must be an allowed push service (AFTERGLOW_PUSH_SERVICES), and a name under a listed `*.`
domain must resolve to public addresses only, so a name that resolves (or is rebound) to this
machine or the clinic's network reaches nothing. A host listed by name or address may be
anywhere: the operator said so. Redirects are never followed (server/push/webpush.py).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp.abc import AbstractResolver

from server.config import Settings
from server.domain.devices import PushServices, is_public
from server.services.devices import push_services

if TYPE_CHECKING:
    from aiohttp.abc import ResolveResult
    from aiohttp.client_reqrep import ClientRequest
    from aiohttp.connector import Connection
    from aiohttp.tracing import Trace


class DestinationRefused(aiohttp.ClientConnectionError):
    """A push endpoint the worker must not connect to; nothing was sent."""


class _PublicOnlyResolver(AbstractResolver):
    """Resolves names as ``resolver`` does, and refuses a name under a `*.` domain that has
    any address off the public internet."""

    def __init__(self, services: PushServices, resolver: AbstractResolver) -> None:
        self.services = services
        self.resolver = resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.resolver.resolve(host, port, family)
        if self.services.listed(host, port):
            return found
        for result in found:
            if not is_public(ipaddress.ip_address(result["host"])):
                raise DestinationRefused(f"{host} resolves to an address that is not public")
        return found

    async def close(self) -> None:
        await self.resolver.close()


class _PushServicesOnly(aiohttp.TCPConnector):
    """Connects only to allowed push services. An IP address in a URL is never resolved, so
    the URL itself is checked here, before any connection is looked for."""

    def __init__(self, services: PushServices, resolver: AbstractResolver, **options: Any) -> None:
        self.guard = _PublicOnlyResolver(services, resolver)
        super().__init__(resolver=self.guard, **options)
        self.services = services

    async def connect(
        self,
        req: ClientRequest,
        traces: list[Trace],
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 - aiohttp's own signature
    ) -> Connection:
        url = req.url
        allowed = self.services.listing(url.scheme, url.raw_host or "", url.port)
        if allowed is None or req.proxy is not None:
            raise DestinationRefused(f"{url.host} is not an allowed push service")
        return await super().connect(req, traces, timeout)

    async def close(self, **options: Any) -> None:
        await super().close(**options)
        await self.guard.close()  # given, not made, by the connector: it would not close it


def push_session(
    settings: Settings, resolver: AbstractResolver | None = None
) -> aiohttp.ClientSession:
    """The session the dispatcher posts with. ``resolver`` answers name lookups (default:
    aiohttp's); tests give one that maps a push service's name to this machine."""
    connector = _PushServicesOnly(
        push_services(settings),
        resolver or aiohttp.DefaultResolver(),
        limit=settings.push_concurrency,
    )
    return aiohttp.ClientSession(connector=connector, trust_env=False)
