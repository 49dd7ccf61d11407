"""What the list and entry endpoints share: ids made by clients, local days as sent, and pages
with a cursor."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Generic, TypeVar
from uuid import UUID

import msgspec

from server.domain.checkins import EARLIEST
from server.errors import InvalidField

T = TypeVar("T")

PAGE_DEFAULT = 100
PAGE_MAX = 500


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next: str | None  # pass as ?cursor= for the following (older) page


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# No entry is older than 2000 (server/domain/checkins.py), and a range reaching past 2100 is a
# typo; bounded here, the ranges built from a day (30 days back, 90 ahead) stay in the calendar.
FIRST_DAY = EARLIEST.date()
LAST_DAY = date(2100, 12, 31)


def parse_day(raw: str | None, field: str) -> date | None:
    """A local day, YYYY-MM-DD, from 2000 to 2100: the one reading of every ``from`` and
    ``to``, so the problem names the parameter as sent."""
    if raw is None:
        return None
    try:
        if not _DAY.match(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidField(field, "Give a day as YYYY-MM-DD.") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidField(field, f"Give a day from {FIRST_DAY} to {LAST_DAY}.")
    return day


def page_token(moment: datetime, entry_id: UUID) -> str:
    raw = f"{moment.isoformat()}|{entry_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


def read_page_token(token: str | None, field: str = "cursor") -> tuple[datetime, UUID] | None:
    if token is None:
        return None
    try:
        if not _TOKEN.match(token):
            raise ValueError(token)
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        moment_text, id_text = raw.split("|")
        moment = datetime.fromisoformat(moment_text)
        if moment.tzinfo is None:
            raise ValueError(moment_text)
        return moment.astimezone(UTC), UUID(id_text)
    except (ValueError, OverflowError, UnicodeError, binascii.Error):
        raise InvalidField(field, "Not a page cursor from this server.") from None


def paginate(items: list[T], limit: int, bookmark: Callable[[T], tuple[datetime, UUID]]) -> Page[T]:
    """``items`` was fetched with ``limit + 1``: one more than fits means there is a next page."""
    if len(items) <= limit:
        return Page(items=items, next=None)
    items = items[:limit]
    return Page(items=items, next=page_token(*bookmark(items[-1])))
