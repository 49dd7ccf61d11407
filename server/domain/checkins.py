"""Check-ins: what a patient may record, and the rules every entry's times and texts follow.

Ranges the type system can say (mood 0–10, half hours of sleep, note length) are msgspec
constraints on ``CheckInContent``, so a bad value is a 400 naming the field before any rule here
runs. Rules that need the clock or the whole entry (future dates, duplicate side effects) are
``check_checkin``. Both the PUT endpoint and sync go through the same two steps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec

from server.domain.records import SIDE_EFFECT_CODES, SideEffect
from server.errors import InvalidField

# Clocks on phones drift and people log "last night" late; a day of slack avoids losing entries
# while still catching a year typed wrongly.
FUTURE_SLACK = timedelta(hours=24)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
NOTE_MAX = 2000
OTHER_TEXT_MAX = 200

AwareDateTime = Annotated[datetime, msgspec.Meta(tz=True)]
Scale = Annotated[int, msgspec.Meta(ge=0, le=10)]
SleepHours = Annotated[float, msgspec.Meta(ge=0, le=24, multiple_of=0.5)]
Note = Annotated[str, msgspec.Meta(max_length=NOTE_MAX)]

_CATALOGUE_ORDER = {code: index for index, code in enumerate(SIDE_EFFECT_CODES)}


class CheckInContent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a client sends for a check-in (PUT body and sync ``data``)."""

    recorded_at: AwareDateTime
    mood: Scale
    anxiety: Scale | None = None
    energy: Scale | None = None
    sleep_hours: SleepHours | None = None
    note: Note | None = None
    side_effects: Annotated[list[SideEffect], msgspec.Meta(max_length=len(SIDE_EFFECT_CODES))] = (
        msgspec.field(default_factory=list)
    )


def check_moment(
    moment: datetime, now: datetime, field: str, *, ahead: timedelta = FUTURE_SLACK
) -> datetime:
    """An aware time between 2000 and ``ahead`` past now, returned in UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidField(field, "Give the time with its UTC offset.")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset
        raise InvalidField(field, "This time is out of range.") from None
    if moment < EARLIEST:
        raise InvalidField(field, "Times before the year 2000 are not accepted.")
    if moment > now + ahead:
        raise InvalidField(field, "This time is too far in the future.")
    return moment


def check_text(text: str | None, field: str, max_length: int) -> str | None:
    """Any printable text; NUL and unpaired surrogates cannot be stored, so they are refused."""
    if text is None:
        return None
    if len(text) > max_length:
        raise InvalidField(field, f"Use at most {max_length} characters.")
    if "\x00" in text:
        raise InvalidField(field, "The text contains a NUL character.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidField(field, "The text is not valid Unicode.") from None
    return text


def check_side_effects(effects: list[SideEffect]) -> list[SideEffect]:
    """Known codes, severity 1–3, each code once, free text only for ``other``; catalogue order."""
    seen: set[str] = set()
    cleaned = []
    for index, effect in enumerate(effects):
        at = f"side_effects[{index}]"
        if effect.code not in _CATALOGUE_ORDER:
            raise InvalidField(f"{at}.code", "Not a side effect this app knows.")
        if effect.code in seen:
            raise InvalidField(f"{at}.code", "This side effect is listed twice.")
        seen.add(effect.code)
        if isinstance(effect.severity, bool) or effect.severity not in (1, 2, 3):
            raise InvalidField(f"{at}.severity", "Severity is 1 (mild), 2 or 3 (severe).")
        text = check_text(effect.text, f"{at}.text", OTHER_TEXT_MAX)
        if text is not None and effect.code != "other":
            raise InvalidField(f"{at}.text", "Only the side effect 'other' takes a text.")
        cleaned.append(SideEffect(code=effect.code, severity=effect.severity, text=text or None))
    cleaned.sort(key=lambda effect: _CATALOGUE_ORDER[effect.code])
    return cleaned


def check_checkin(content: CheckInContent, now: datetime) -> CheckInContent:
    """Canonical content (UTC time, side effects in catalogue order), or InvalidField."""
    return CheckInContent(
        recorded_at=check_moment(content.recorded_at, now, "recorded_at"),
        mood=content.mood,
        anxiety=content.anxiety,
        energy=content.energy,
        sleep_hours=None if content.sleep_hours is None else float(content.sleep_hours),
        note=check_text(content.note, "note", NOTE_MAX),
        side_effects=check_side_effects(content.side_effects),
    )
