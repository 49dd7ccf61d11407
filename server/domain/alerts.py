"""Alerts: the warning signs that need a person, not only a flag on a page.

An alert is raised when a patient's own write shows one of these (server/services/monitoring.py
finds them; the rules and their sources are in server/domain/monitoring.py), for every
clinician with an active share, each their own to acknowledge:

- ``item9``: a PHQ-9 whose item 9 (thoughts of death or self-harm) is above 0;
- ``relapse``: after a response or remission, a PHQ-9 of 10 or more, or 5 above the lowest;
- ``mood_drop``: the week's mean mood 2 points below the four weeks before it;
- ``persisting_severe_effect``: a side effect still severe past the day after an infusion.

One event is one (patient, kind, local day): raising it again changes nothing. The detail is
for the clinician inside the app; the push and the email that announce an alert carry none of
it (server/domain/mail.py, migrations/0015).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

import msgspec

from server.domain.records import Assessment
from server.domain.said import Said
from server.i18n import N_

AlertKind = Literal["item9", "relapse", "mood_drop", "persisting_severe_effect"]
AlertState = Literal["open", "all"]
DETAIL_MAX = 500
NOTE_MAX = 2000

KIND_LABELS: dict[str, str] = {
    "item9": N_("PHQ-9 item 9"),
    "relapse": N_("Relapse"),
    "mood_drop": N_("Mood drop"),
    "persisting_severe_effect": N_("Severe side effect persisting"),
}


class Raised(msgspec.Struct, frozen=True):
    """A warning sign a write found: what kind, on the patient's local day, in words."""

    kind: AlertKind
    day: date
    detail: str  # ``said`` in English, kept with the alert for exports and older readers
    said: Said | None = None


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """One recipient's alert."""

    id: UUID
    patient_id: UUID
    patient_name: str
    kind: AlertKind
    day: date  # the patient's local day of the event
    raised_at: datetime
    detail: str
    acknowledged_at: datetime | None
    acknowledged_by: UUID | None  # the recipient, when they acknowledged it
    note: str | None
    # What was found, to word in the reader's language; None on alerts raised before 0029,
    # which are read in their English ``detail``.
    finding: Said | None = None


def item9_alert(assessment: Assessment) -> Raised:
    """The alert of a PHQ-9 whose item 9 is above 0."""
    said = Said(
        N_(
            "PHQ-9 item 9 (thoughts of death or self-harm) answered {answer} of 3 "
            "(PHQ-9 total {total})."
        ),
        {"answer": assessment.item9 or 0, "total": assessment.total},
    )
    return Raised("item9", assessment.local_day, said.english, said)


def clipped(detail: str) -> str:
    """A detail as stored: at most DETAIL_MAX characters."""
    return detail if len(detail) <= DETAIL_MAX else detail[: DETAIL_MAX - 1] + "…"
