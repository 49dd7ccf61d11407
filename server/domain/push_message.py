"""A reminder as a device receives it: a declarative Web Push message (the Push API's
``"web_push": 8030`` format), one payload that two kinds of browser understand.

Safari 18.4+ (and iOS/iPadOS 18.4+ for apps on the Home Screen) shows ``notification`` itself,
without running the service worker, and opens ``navigate`` on a tap. Other browsers hand the
message to the service worker (static/sw.js), which reads the same fields and shows the same
title, body and tag. ``navigate`` names the reminder (``r=<id>``): the page it opens reports
"opened" for deliveries no service worker saw. Nothing here carries health information.
"""

from __future__ import annotations

from typing import Final, Literal
from uuid import UUID, uuid5

import msgspec

from server.domain.reminders import PushPayload


class Notification(msgspec.Struct, frozen=True, omit_defaults=True):
    """The ``notification`` member of a declarative push message (the fields of
    NotificationOptions that Safari reads, plus title and navigate)."""

    title: str
    body: str
    navigate: str  # a path inside the app, naming the reminder: /?checkin&r=<id>
    tag: str
    lang: str = "en"


class DeclarativePush(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True):
    """What a device receives: Safari shows ``notification`` as it is; the service worker
    shows the same title, body and tag, and opens ``navigate`` on a tap."""

    web_push: Literal[8030]  # no default: omit_defaults would leave it out
    notification: Notification
    app_badge: int | None = None  # one thing waiting: a check-in or the questionnaire


# Reminder ids are made from what makes a reminder unique, so planning it again gives the same
# id (and the same payload): a random one would rewrite every pending row on every pass.
_REMINDER_IDS: Final = UUID("5f0d8a52-4f1e-4b8e-9a55-2d1c7d0e6a11")
_BADGED: Final = frozenset({"daily_checkin", "weekly_phq9", "infusion_evening_after"})


def reminder_id(user_id: UUID, kind: str, occurrence: str) -> UUID:
    """The id one reminder carries to every device, and its receipts name."""
    return uuid5(_REMINDER_IDS, f"{user_id}/{kind}/{occurrence}")


def declarative(
    kind: str, payload: PushPayload, reminder: UUID, language: str = "en"
) -> DeclarativePush:
    """The message on the wire for ``payload``, naming ``reminder`` in its navigate URL;
    ``language`` is the one its words are in (the patient's)."""
    joiner = "&" if "?" in payload.url else "?"
    notification = Notification(
        title=payload.title,
        body=payload.body,
        navigate=f"{payload.url}{joiner}r={reminder}",
        tag=payload.tag,
    )
    if language != notification.lang:  # English stays as before: no `lang` on the wire
        notification = msgspec.structs.replace(notification, lang=language)
    return DeclarativePush(
        web_push=8030,
        notification=notification,
        app_badge=1 if kind in _BADGED else None,
    )
