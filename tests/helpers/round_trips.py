"""Counting what an in-process app says to PostgreSQL per request: its pooled connections are
wrapped at the socket, where every batch asyncpg sends waits for its answer before the next
(asyncpg never has two batches in flight on one connection), so each write is one round trip.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from litestar import Litestar
from litestar.types import Message, Receive, Scope, Send

from server import security


class RoundTrips:
    """Round trips of the app's connections while a request is answered, and after its
    response was sent (the pool's own upkeep: the reset of a connection given back)."""

    def __init__(self) -> None:
        self.answering = 0
        self.after_response = 0
        self.responded = False
        self.writing = False

    def clear(self) -> None:
        self.answering = self.after_response = 0
        self.responded = False

    def count(self) -> None:
        if self.responded:
            self.after_response += 1
        else:
            self.answering += 1


@contextmanager
def counting(app: Litestar) -> Iterator[RoundTrips]:
    """Count the round trips of every connection the app's pool holds now (requests taken one
    at a time reuse them). The counts cover requests sent through ``client_of``."""
    trips = RoundTrips()
    patched: list[Any] = []
    for holder in app.state.pool._holders:
        conn = holder._con
        if conn is None:
            continue
        transport = conn._transport
        for name in ("write", "writelines"):
            original = getattr(transport, name)

            def counted(*args: Any, _original: Any = original) -> Any:
                # One batch, however it is written (writelines may call write).
                if trips.writing:
                    return _original(*args)
                trips.count()
                trips.writing = True
                try:
                    return _original(*args)
                finally:
                    trips.writing = False

            setattr(transport, name, counted)
        patched.append(transport)
    app.state.round_trips = trips
    try:
        yield trips
    finally:
        for transport in patched:
            del transport.write, transport.writelines
        del app.state.round_trips


def client_of(app: Litestar, signed_in: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client with ``signed_in``'s cookies and CSRF header whose requests mark when their
    response has been sent, so the counts can tell a request's round trips from upkeep."""

    async def marked(scope: Scope, receive: Receive, send: Send) -> None:
        trips: RoundTrips | None = getattr(app.state, "round_trips", None)
        if trips is not None:
            trips.clear()

        async def sending(message: Message) -> None:
            await send(message)
            if trips and message["type"] == "http.response.body" and not message.get("more_body"):
                trips.responded = True

        await app(scope, receive, sending)

    cookie = security.csrf_cookie_name(app.state.settings)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=marked, client=("127.0.0.9", 40000)),
        base_url=app.state.settings.public_url,
        cookies=signed_in.cookies,
        headers={security.CSRF_HEADER: signed_in.cookies[cookie]},
    )
