"""What became of a patient's recent reminders on each device: delivered (the push service
accepted it), shown (the service worker put it on the screen) and opened (a tap), and when a
device deserves a hint to check the phone's notification settings.

"Shown" is reported by the service worker. A declarative push that Safari shows without it
sends none: "shown" is unknown there, never counted as "not shown". So the hint only judges
devices that have reported "shown" at least once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Final, Literal
from uuid import UUID

import msgspec

Event = Literal["shown", "opened"]
WINDOW: Final = timedelta(days=14)  # "your last reminders": those of the last two weeks
UNSEEN_FOR: Final = timedelta(days=7)
MAX_RECEIPTS: Final = 100  # per request


class Receipt(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One report from a device: a reminder's id, what happened, when, and which of the
    user's devices it was (its subscription's id, when the device knows it); nothing else."""

    reminder: UUID
    event: Event
    at: Annotated[datetime, msgspec.Meta(tz=True)]
    device: UUID | None = None


class DeviceReceipts(msgspec.Struct, frozen=True, kw_only=True):
    """One device's last reminders, as counted from the outbox and the receipts."""

    id: UUID
    created_at: datetime
    delivered: int
    shown: int
    opened: int
    last_delivered_at: datetime | None
    last_shown_at: datetime | None  # ever: whether this device reports "shown" at all


class DeviceReport(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    created_at: datetime
    delivered: int
    shown: int | None  # None: this device does not report it (Safari shows them itself)
    opened: int
    check_settings: bool  # delivered for UNSEEN_FOR, never shown: notifications silenced?


def report(device: DeviceReceipts) -> DeviceReport:
    reports_shown = device.last_shown_at is not None
    unseen = (
        reports_shown
        and device.last_delivered_at is not None
        and device.last_shown_at is not None
        and device.last_delivered_at - device.last_shown_at >= UNSEEN_FOR
    )
    return DeviceReport(
        id=device.id,
        created_at=device.created_at,
        delivered=device.delivered,
        shown=device.shown if reports_shown else None,
        opened=device.opened,
        check_settings=unseen,
    )
