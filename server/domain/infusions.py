"""Infusion sessions: what may be scheduled or recorded (by the patient now, a clinician later)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import msgspec

from server.domain.checkins import AwareDateTime, check_moment, check_text
from server.domain.records import InfusionStatus

NOTES_MAX = 1000
# Courses are booked weeks or months ahead; anything past this is a typing mistake.
SCHEDULE_AHEAD = timedelta(days=2 * 366)


class InfusionContent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a client sends for an infusion (PUT body and sync ``data``)."""

    scheduled_at: AwareDateTime
    duration_minutes: Annotated[int, msgspec.Meta(ge=10, le=240)]
    status: InfusionStatus = "planned"
    notes: Annotated[str, msgspec.Meta(max_length=NOTES_MAX)] | None = None


def check_infusion(content: InfusionContent, now: datetime) -> InfusionContent:
    return InfusionContent(
        scheduled_at=check_moment(content.scheduled_at, now, "scheduled_at", ahead=SCHEDULE_AHEAD),
        duration_minutes=content.duration_minutes,
        status=content.status,
        notes=check_text(content.notes, "notes", NOTES_MAX),
    )
