"""When a reminder goes by email instead of push, for a patient who opted in.

Rules, decided here once (issue 17):
- A reminder goes by email when no device can be reached at its time: the patient has no push
  subscription, or every device's last ``FAILING_AFTER`` pushes failed, or a push was tried and
  reached no device at all (every device gone or refusing).
- The daily check-in reminder also goes by email when there has been no check-in for
  ``SILENT_FOR`` (48 hours) while reminders were on: pushes may be delivered and still never
  seen (notifications silenced on the phone). An account younger than that is not judged yet.
- Never both: a reminder one of whose pushes was delivered is never emailed, and one that is
  emailed is never pushed (the outbox row leaves 'pending' as the email is queued).
- The same quiet hours: an email is never queued inside them, and goes stale at the next start
  of them (or at the reminder's own stale time, if sooner). The two-hours-before reminder,
  which ignores quiet hours as a push, keeps them as an email.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

import msgspec

from server.domain.reminders import ReminderPrefs, _next_local, _quiet_at

FAILING_AFTER: Final = 3  # failed pushes in a row after which a device counts as unreachable
SILENT_FOR: Final = timedelta(hours=48)
DECIDE_AHEAD: Final = timedelta(minutes=1)  # decided just before the dispatcher would claim it

Reason = Literal["no_device", "devices_failing", "push_reached_nobody", "no_checkin"]
# Which letter (server/domain/mail.py) each reminder kind is sent as.
MAIL_KIND: Final[dict[str, str]] = {
    "daily_checkin": "reminder_checkin",
    "infusion_evening_after": "reminder_checkin",
    "weekly_phq9": "reminder_questionnaire",
    "infusion_day_before": "reminder_session_tomorrow",
    "infusion_two_hours": "reminder_session_soon",
    "infusion_home_safely": "reminder_home_safely",
}


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """A reminder of a patient who opted in to email, as the fallback pass sees it."""

    kind: str
    due_at: datetime
    stale_at: datetime
    pushed: bool  # a push was tried, and reached no device
    devices: int
    failing_devices: int  # devices whose last FAILING_AFTER pushes failed
    last_checkin_at: datetime | None
    account_created_at: datetime


def reason(candidate: Candidate, now: datetime) -> Reason | None:
    """Why this reminder should go by email, or None: push it (or leave it)."""
    if candidate.pushed:
        return "push_reached_nobody"
    if candidate.devices == 0:
        return "no_device"
    if candidate.failing_devices == candidate.devices:
        return "devices_failing"
    if (
        candidate.kind == "daily_checkin"
        and candidate.account_created_at <= now - SILENT_FOR
        and (candidate.last_checkin_at is None or candidate.last_checkin_at <= now - SILENT_FOR)
    ):
        return "no_checkin"
    return None


def email_window(
    candidate: Candidate, prefs: ReminderPrefs, zone: ZoneInfo, now: datetime
) -> tuple[datetime, datetime] | None:
    """When the email may be sent and when it goes stale; None inside the quiet hours (or when
    nothing of the reminder's time is left)."""
    send_at = max(candidate.due_at, now)
    stale_at = candidate.stale_at
    if prefs.quiet_hours_start is not None:
        if _quiet_at(send_at.astimezone(zone).time(), prefs):
            return None
        stale_at = min(stale_at, _next_local(send_at, prefs.quiet_hours_start, zone))
    if stale_at <= send_at:
        return None
    return send_at, stale_at
