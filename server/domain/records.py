"""What a patient records, as the rest of the domain sees it (read from the store, never I/O here).

These are the shapes shared by the log API, sync, the summary, reminders and exports. Deleted
entries (tombstones) never reach these Structs except through sync; a retracted assessment
reaches them only in what a clinician reads (and the patient's own data export).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

import msgspec

from server.i18n import Language

SIDE_EFFECT_CODES: tuple[str, ...] = (
    "dissociation",
    "nausea",
    "vomiting",
    "dizziness",
    "headache",
    "drowsiness",
    "blurred_vision",
    "elevated_blood_pressure",
    "anxiety",
    "confusion",
    "numbness",
    "other",
)

Severity = Literal[1, 2, 3]  # 1 mild, 2 moderate, 3 severe
InstrumentId = Literal["phq9", "gad7"]
InfusionStatus = Literal["planned", "completed", "cancelled"]


class SideEffect(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: str
    severity: int
    text: str | None = None  # only for code "other"


class CheckIn(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    patient_id: UUID
    recorded_at: datetime
    local_day: date  # in the patient's zone at the time of recording
    mood: int  # 0 (worst) – 10 (best)
    anxiety: int | None = None
    energy: int | None = None
    sleep_hours: float | None = None
    note: str | None = None
    side_effects: tuple[SideEffect, ...] = ()
    updated_at: datetime  # the client's change time (conflict rule)


class Assessment(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    patient_id: UUID
    instrument: InstrumentId
    answers: tuple[int, ...]
    total: int
    band: str
    taken_at: datetime
    local_day: date
    updated_at: datetime
    difficulty: int | None = None  # PHQ-9 item 10 (0–3), optional and never scored
    # When the patient took it back (server/domain/logbook.py, ``final``): it stays visible to
    # their clinicians, with every flag it raised, but counts for no baseline or verdict.
    retracted_at: datetime | None = None
    # The language its questions were shown in (issue 18; None: said before languages, English).
    # Answers and scores do not depend on it; the FHIR export records it.
    language: Language | None = None

    @property
    def item9(self) -> int | None:
        """PHQ-9 item 9 (thoughts of being better off dead or of self-harm)."""
        return self.answers[8] if self.instrument == "phq9" else None


class Infusion(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    patient_id: UUID
    scheduled_at: datetime
    local_day: date
    duration_minutes: int
    status: InfusionStatus
    notes: str | None = None
    updated_at: datetime
    # The course that planned it (server/domain/courses.py); set by the plan, never by a log
    # write, so moving or cancelling a planned session keeps it in its course.
    course_id: UUID | None = None
