"""Pages for getting into an account by email: ask for a reset link (/forgot), choose a new
password with it (/reset), confirm an address (/verify), and, outside production, the mail the
app would have sent (/dev/mail).

The links' tokens travel after ``#`` (server/domain/mail.py): the pages read them in
static/js/recovery.js and post them to the API, so no token is in a URL the server sees.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import get
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Template

from server.config import Settings
from server.errors import NotFound
from server.services import mail
from server.web import AppSettings, Connection, DbPool

_URL = re.compile(r"https?://\S+")


class Part(msgspec.Struct, frozen=True):
    text: str
    href: str | None = None


def _page(name: str, **context: Any) -> Template:
    return Template(f"{name}.html", context={"page": name, "script": "recovery", **context})


@get("/forgot", include_in_schema=False)
async def forgot() -> Template:
    return _page("forgot")


@get("/reset", include_in_schema=False)
async def reset() -> Template:
    return _page("reset")


@get("/verify", include_in_schema=False)
async def verify() -> Template:
    return _page("verify")


def outside_production(connection: Connection, _: BaseRouteHandler) -> None:
    """The guard of development pages: in production they do not exist (404), before anything
    else of the request is looked at."""
    settings: Settings = connection.app.state.settings
    if settings.env == "production":
        raise NotFound()


@get("/dev/mail", include_in_schema=False, cache=False, guards=[outside_production])
async def dev_mail(settings: AppSettings, pool: DbPool) -> Template:
    """What was kept instead of sent, where no SMTP server is configured: a reset link shown
    here opens the account, so never in production (which requires an SMTP server anyway)."""
    messages = [
        {
            "id": kept.id,
            "to": kept.recipient,
            "subject": kept.subject,
            "at": f"{kept.created_at:%Y-%m-%d %H:%M:%S} UTC",
            "lines": [_parts(line) for line in kept.body.splitlines()],
        }
        for kept in await mail.kept(pool)
    ]
    return Template(
        "dev_mail.html",
        context={"page": "dev_mail", "messages": messages, "smtp": bool(settings.smtp_url)},
        headers={"Cache-Control": "no-store"},
    )


def _parts(line: str) -> list[Part]:
    """A line of a message, its links made clickable."""
    parts, at = [], 0
    for found in _URL.finditer(line):
        parts += [Part(line[at : found.start()]), Part(found.group(), href=found.group())]
        at = found.end()
    return [*parts, Part(line[at:])]


RECOVERY_PAGES = [forgot, reset, verify, dev_mail]
