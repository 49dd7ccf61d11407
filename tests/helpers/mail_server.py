"""A real SMTP server for tests (aiosmtpd) on 127.0.0.1, in a thread of its own, keeping every
message it accepts; and what the tests read from a message: its link, its token, and whether it
says anything about health.

It can stall: a message's DATA is then held unanswered until ``release()``; a client that hangs
up meanwhile never gets it accepted (the handler is cancelled when the connection is lost), as
with any SMTP server that has not yet said 250.
"""

from __future__ import annotations

import asyncio
import email
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default
from typing import Any

import msgspec
from aiosmtpd.controller import Controller

from server.domain.mail import health_words, without_tokens
from server.push.mailer import Mailer, MailStats
from tests.helpers.live_server import free_port

_LINK = re.compile(r"https?://\S+")
# Checked besides server/domain/mail.py's own list, so a word dropped from it is still caught.
_NEVER = re.compile(
    r"ketamine|depress|infusion|mood|score|phq|gad-?7|suicid|dissociat|item 9", re.IGNORECASE
)


class MailServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.messages: list[EmailMessage] = []
        self.stalled_requests = 0
        self.refusal: str | None = None  # e.g. "451 4.3.0 Try again later": DATA answered so
        self._stalling = False
        self._released: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[MailServer]:
        server = cls()
        server._controller.start()
        server._loop = server._controller.loop
        try:
            yield server
        finally:
            server.release()
            server._controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, count: int = 1, timeout: float = 20) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{count} message(s) to {address} did not arrive: {self.to(address)}")

    def stall(self) -> None:
        """Hold every message's DATA unanswered from now on."""
        assert self._loop is not None
        self._released = asyncio.Event()
        self._stalling = True

    def release(self) -> None:
        self._stalling = False
        if self._released is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._released.set)

    async def _accept(self, content: bytes) -> str:
        if self._stalling and self._released is not None:
            self.stalled_requests += 1
            await self._released.wait()  # cancelled if the client hangs up meanwhile
        if self.refusal is not None:
            return self.refusal
        message = email.message_from_bytes(content, policy=default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return await self.server._accept(envelope.original_content or envelope.content)


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    content: str = body.get_content()
    return content


def link_in(message: EmailMessage) -> str:
    links = _LINK.findall(text_of(message))
    assert links, text_of(message)
    return str(links[0])


def token_in(message: EmailMessage) -> str:
    link = link_in(message)
    assert "#token=" in link, link
    return link.split("#token=", 1)[1]


def assert_neutral(message: EmailMessage) -> None:
    """Nothing about health in what a lock screen or a shared inbox shows: subject and body."""
    for text in (str(message["Subject"]), text_of(message), str(message["From"])):
        assert health_words(text) == [], text
        # A link's token is random letters ("…6PHQdz…" was seen): it says nothing.
        assert _NEVER.search(without_tokens(text)) is None, text


async def deliver(pool: Any, settings: Any, server: MailServer | None) -> MailStats:
    """Run the worker's mail sender once through the queue, as the worker would: to ``server``,
    or (None) keeping each message for /dev/mail as where no SMTP server is configured."""
    url = server.url if server else None
    mailer = Mailer(pool, msgspec.structs.replace(settings, smtp_url=url), timeout=10)
    return await mailer.run_until_idle()
