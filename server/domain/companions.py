"""The day before a session: the patient's checklist, and the companion who drives them home.

Rules, each decided here once:
- The checklist: how the patient gets home (``person``: a companion they name; ``rideshare``;
  ``none`` yet), that they read the clinic's pre-session instructions, and anything they want
  the clinic to know. The schedule shows its state in a few words (``ride_state``).
- The companion is not an account and is told nothing about health: the email and the page
  name the patient's first name, the clinic, a date and a time, and ask "Can you?". Not the
  drug, not what the appointment is for (``server/domain/mail.py`` refuses such words).
- The companion's link is single-purpose (it answers yes or no for one session, once), signed
  (256 random bits; only their SHA-256 is stored), expires when the session ends, and the
  patient can revoke it (naming another companion revokes the earlier link too).
- Rideshare: the app reminds the patient not to drive, and not to go alone if they feel unwell.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Final, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from babel.dates import format_date

from server.i18n import DEFAULT, N_, gettext

Ride = Literal["none", "person", "rideshare"]
Reply = Literal["yes", "no"]
NAME_MAX = 100
MESSAGE_MAX = 1000
ASK_STALE_AFTER = timedelta(days=3)  # an email not sent by then is not worth sending
# Translated where it is sent, in the patient's language (server/services/companions.py).
RIDESHARE_ADVICE: Final = N_(
    "Do not drive yourself, even if you feel fine: wait until the next day after sleep. "
    "If you feel unwell, do not go alone: ask the clinic to call someone for you."
)


class CompanionIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=NAME_MAX)]
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


class ChecklistIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the patient sends from the day-before page."""

    ride: Ride
    companion: CompanionIn | None = None  # with ride "person": who, to ask by email
    instructions_read: bool = False
    message: Annotated[str, msgspec.Meta(max_length=MESSAGE_MAX)] | None = None


class CompanionLink(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    infusion_id: UUID
    patient_id: UUID
    name: str
    email: str
    expires_at: datetime
    revoked_at: datetime | None
    answer: Reply | None
    answered_at: datetime | None
    created_at: datetime


class Checklist(msgspec.Struct, frozen=True, kw_only=True):
    infusion_id: UUID
    ride: Ride
    instructions_read: bool
    message: str | None
    home_safely: bool | None
    companion: CompanionLink | None


class CompanionView(msgspec.Struct, frozen=True, kw_only=True):
    """What a companion's link opens: nothing but these."""

    state: Literal["open", "answered", "expired", "revoked"]
    companion: str
    patient: str  # the first name
    clinic: str  # its name as the link was made
    scheduled_at: datetime
    timezone: str
    answer: Reply | None
    # The language of the patient who asked: the email's (a companion has no account, so their
    # own is unknown; the person asking them is the best guess). The page follows their browser.
    asked_in: str = DEFAULT


def link_expires(scheduled_at: datetime, duration_minutes: int) -> datetime:
    """A companion's link works until the session ends."""
    return scheduled_at + timedelta(minutes=duration_minutes)


def ride_state(checklist: Checklist | None, language: str = DEFAULT) -> str:
    """The schedule's words for how the patient gets home, in the reader's ``language``."""

    def _(message: str, **names: str) -> str:
        return gettext(language, message).format(**names)

    if checklist is None or checklist.ride == "none":
        return _("ride: not arranged")
    if checklist.ride == "rideshare":
        return _("ride: rideshare")
    link = checklist.companion
    if link is None:
        return _("ride: a person (not named)")
    if link.answer == "yes":
        return _("ride: confirmed by {name}", name=link.name)
    if link.answer == "no":
        return _("ride: {name} cannot; not arranged", name=link.name)
    return _("ride: asked {name}, no answer yet", name=link.name)


def _when(view: CompanionView, language: str) -> tuple[str, str]:
    local = view.scheduled_at.astimezone(ZoneInfo(view.timezone))
    if language != DEFAULT:
        return format_date(local, "full", locale=language), local.strftime("%H:%M")
    return local.strftime("%A %-d %B %Y"), local.strftime("%H:%M")


def question(view: CompanionView, language: str = DEFAULT) -> str:
    """The one sentence a companion reads, in the email and on the page."""
    day, at = _when(view, language)
    return gettext(
        language,
        "{patient} asked you to drive them home from their appointment at {clinic} "
        "on {day} at {at}. Can you?",
    ).format(patient=view.patient, clinic=view.clinic, day=day, at=at)


def letter(view: CompanionView, url: str) -> tuple[str, str]:
    """(subject, body) of the companion's email, in the language of the patient who asked."""
    language = view.asked_in
    subject = gettext(language, "{patient} asked you for a ride home").format(patient=view.patient)
    hello = gettext(language, "Hello {companion},").format(companion=view.companion)
    answer = gettext(
        language, "Answer yes or no here (the link works once, until the appointment ends):"
    )
    body = f"{hello}\n\n{question(view, language)}\n\n{answer}\n{url}\n\n{view.clinic}\n"
    return subject, body
