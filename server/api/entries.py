"""What the log endpoints (check-ins, assessments, infusions, sync) share: ids made by clients,
change times, day ranges in the patient's zone, and pages."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Generic, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from server.domain.checkins import check_moment
from server.problems import InvalidField
from server.timeutil import local_day

T = TypeVar("T")

DEFAULT_DAYS = 30
MAX_SPAN_DAYS = 366
PAGE_DEFAULT = 100
PAGE_MAX = 500


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next: str | None  # pass as ?cursor= for the following (older) page


def parse_entry_id(raw: str, field: str = "id") -> UUID:
    """A client-made UUID. Parsed here, not by the router, so a bad one is a 400 naming it."""
    try:
        return msgspec.convert(raw, UUID)
    except msgspec.ValidationError:
        raise InvalidField(
            field, "Not a UUID (like 6f1e0b53-6c39-4f38-9f2e-0a3b1c2d3e4f)."
        ) from None


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(raw: str | None, field: str) -> date | None:
    """A local day, YYYY-MM-DD. Parsed here so the problem names ``from``/``to`` as sent."""
    if raw is None:
        return None
    try:
        if not _DAY.match(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidField(field, "Give a day as YYYY-MM-DD.") from None


def change_time(updated_at: datetime | None, now: datetime, field: str = "updated_at") -> datetime:
    """The change's time for the conflict rule: the client's clock if it sent one, else ours."""
    if updated_at is None:
        return now
    return check_moment(updated_at, now, field)


def day_range(
    first: date | None, last: date | None, zone: ZoneInfo, now: datetime
) -> tuple[date, date]:
    """Local days first..last; without them, the last 30 days in the patient's zone."""
    if last is None:
        last = local_day(now, zone) if first is None else first + timedelta(days=DEFAULT_DAYS - 1)
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidField("from", "`from` is after `to`.")
    if (last - first).days >= MAX_SPAN_DAYS:
        raise InvalidField("to", f"Ask for at most {MAX_SPAN_DAYS} days at a time.")
    return first, last


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
