"""What happens in the chair: the session record the clinic keeps on the tablet.

Rules, each decided here once:
- Vital signs are taken three times: before dosing, about 40 minutes in (near the peak of
  ketamine's effect on blood pressure) and at discharge. Each reading is systolic 60–260 mmHg,
  diastolic 30–160 mmHg (and below the systolic), heart rate 30–220 beats a minute; anything
  else is refused (422, naming the field) rather than stored as a typing mistake.
- Dose: ketamine by body weight (30–300 kg): the record keeps mg/kg and mg, either given, the
  other computed (mg to 0.1, mg/kg to 0.01); intranasal esketamine in fixed doses (28, 56 or
  84 mg). The limits are clinic settings: ``ClinicLimits`` holds the defaults, declared here
  once, and the clinic-settings service passes the clinic's own.
- A blood pressure above the clinic's threshold before dosing (default 140/90: either number
  above) puts a warning on the record. It does not refuse the record: the prescriber decides.
- Dissociation is the clinician's rating 0–10; "how do you feel" is the patient's own 0–10
  (the mood scale: 0 worst, 10 best) with their words.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Final, Literal
from uuid import UUID

import msgspec

from server.domain.checkins import AwareDateTime
from server.domain.clinic import BP_THRESHOLD, ESKETAMINE_DOSES, KETAMINE_MG_PER_KG, ClinicSettings
from server.domain.courses import DRUGS, Drug
from server.errors import InvalidField
from server.i18n import DEFAULT, N_, gettext

Moment = Literal["before", "during", "discharge"]
MOMENTS: Final[tuple[Moment, ...]] = ("before", "during", "discharge")
MOMENT_LABELS: Final[dict[Moment, str]] = {
    "before": N_("Before dosing"),
    "during": N_("About 40 minutes in"),
    "discharge": N_("At discharge"),
}
SYSTOLIC = (60, 260)
DIASTOLIC = (30, 160)
HEART_RATE = (30, 220)
WEIGHT_KG = (30.0, 300.0)
TEXT_MAX = 1000
ADVERSE_EVENT_CODES: Final[tuple[str, ...]] = (
    "hypertension",
    "tachycardia",
    "nausea",
    "vomiting",
    "emergence_reaction",
    "excessive_dissociation",
    "oxygen_desaturation",
    "headache",
    "dizziness",
    "anxiety",
    "other",
)


class OutOfRange(InvalidField):
    """A value that parsed but no person could have (a systolic of 400): 422."""

    status = 422


class ClinicLimits(msgspec.Struct, frozen=True, kw_only=True):
    """The clinic settings the chair record is checked against, with their defaults."""

    ketamine_mg_per_kg: tuple[float, float] = KETAMINE_MG_PER_KG  # IV and IM racemic ketamine
    esketamine_mg: tuple[int, ...] = ESKETAMINE_DOSES  # intranasal, fixed doses
    bp_threshold: tuple[int, int] = BP_THRESHOLD  # before dosing: systolic/diastolic, mmHg


DEFAULT_LIMITS: Final = ClinicLimits()


def limits_of(settings: ClinicSettings) -> ClinicLimits:
    """The limits a clinic set in its settings."""
    return ClinicLimits(
        ketamine_mg_per_kg=(settings.ketamine_min_mg_per_kg, settings.ketamine_max_mg_per_kg),
        esketamine_mg=tuple(settings.esketamine_doses),
        bp_threshold=(settings.bp_systolic_threshold, settings.bp_diastolic_threshold),
    )


class Vitals(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    systolic: int
    diastolic: int
    heart_rate: int
    at: AwareDateTime | None = None


class AdverseEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: str
    text: Annotated[str, msgspec.Meta(max_length=TEXT_MAX)] | None = None


class SessionRecordIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the nurse sends for a session (any part may come later: the record grows)."""

    drug: Drug
    started_at: AwareDateTime | None = None
    ended_at: AwareDateTime | None = None
    weight_kg: float | None = None
    dose_mg_per_kg: float | None = None
    dose_mg: float | None = None
    before: Vitals | None = None
    during: Vitals | None = None
    discharge: Vitals | None = None
    dissociation: int | None = None
    feeling: int | None = None
    feeling_note: Annotated[str, msgspec.Meta(max_length=TEXT_MAX)] | None = None
    adverse_events: tuple[AdverseEvent, ...] = ()
    discharged_at: AwareDateTime | None = None
    left_with: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class VitalSigns(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    before: Vitals | None = None
    during: Vitals | None = None
    discharge: Vitals | None = None


class SessionRecord(msgspec.Struct, frozen=True, kw_only=True):
    infusion_id: UUID
    patient_id: UUID
    drug: Drug
    started_at: datetime | None
    ended_at: datetime | None
    weight_kg: float | None
    dose_mg_per_kg: float | None
    dose_mg: float | None
    vitals: VitalSigns
    dissociation: int | None
    feeling: int | None
    feeling_note: str | None
    adverse_events: tuple[AdverseEvent, ...]
    discharged_at: datetime | None
    left_with: str | None
    recorded_by: UUID | None
    updated_at: datetime


def _within(value: float, bounds: tuple[float, float], field: str, unit: str) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise OutOfRange(field, f"Must be between {low:g} and {high:g} {unit}; got {value:g}.")


def check_vitals(vitals: Vitals, field: str) -> None:
    _within(vitals.systolic, SYSTOLIC, f"{field}.systolic", "mmHg")
    _within(vitals.diastolic, DIASTOLIC, f"{field}.diastolic", "mmHg")
    _within(vitals.heart_rate, HEART_RATE, f"{field}.heart_rate", "beats a minute")
    if vitals.diastolic >= vitals.systolic:
        raise OutOfRange(f"{field}.diastolic", "The diastolic is below the systolic.")


def _dose(record: SessionRecordIn, limits: ClinicLimits) -> tuple[float | None, float | None]:
    """(mg/kg, mg), each checked against the drug's limits; the missing one computed."""
    if DRUGS[record.drug].per_kg:
        per_kg, mg = record.dose_mg_per_kg, record.dose_mg
        if per_kg is None and mg is None:
            return None, None
        if record.weight_kg is None:
            raise InvalidField("weight_kg", "A ketamine dose is by body weight: give it in kg.")
        if per_kg is None:
            assert mg is not None
            per_kg = round(mg / record.weight_kg, 2)
        low, high = limits.ketamine_mg_per_kg
        _within(per_kg, (low, high), "dose_mg_per_kg", "mg/kg")
        if mg is None:
            mg = round(per_kg * record.weight_kg, 1)
        elif abs(mg - per_kg * record.weight_kg) > max(0.05 * mg, 0.5):
            raise InvalidField("dose_mg", "Does not match the dose in mg/kg and the weight.")
        return per_kg, mg
    if record.dose_mg_per_kg is not None:
        raise InvalidField("dose_mg_per_kg", "Esketamine is given in fixed doses (mg).")
    if record.dose_mg is not None and record.dose_mg not in limits.esketamine_mg:
        doses = ", ".join(str(d) for d in limits.esketamine_mg)
        raise OutOfRange("dose_mg", f"Intranasal esketamine is {doses} mg.")
    return None, record.dose_mg


def check_record(record: SessionRecordIn, limits: ClinicLimits) -> SessionRecordIn:
    """The record within every range (see the module), the dose completed; raises OutOfRange
    (422) or InvalidField (400) naming the field."""
    if record.weight_kg is not None:
        _within(record.weight_kg, WEIGHT_KG, "weight_kg", "kg")
    for moment in MOMENTS:
        vitals = getattr(record, moment)
        if vitals is not None:
            check_vitals(vitals, moment)
    for field in ("dissociation", "feeling"):
        value = getattr(record, field)
        if value is not None:
            _within(value, (0, 10), field, "on the 0–10 scale")
    for n, event in enumerate(record.adverse_events):
        if event.code not in ADVERSE_EVENT_CODES:
            raise InvalidField(f"adverse_events[{n}].code", "Not a known adverse event code.")
    if record.started_at and record.ended_at and record.ended_at < record.started_at:
        raise InvalidField("ended_at", "The session ends after it starts.")
    if record.started_at and record.discharged_at and record.discharged_at < record.started_at:
        raise InvalidField("discharged_at", "Discharge comes after the start.")
    per_kg, mg = _dose(record, limits)
    return msgspec.structs.replace(record, dose_mg_per_kg=per_kg, dose_mg=mg)


def bp_warning(record: SessionRecord, limits: ClinicLimits, language: str = DEFAULT) -> str | None:
    """The warning a high blood pressure before dosing puts on the record, in the reader's
    ``language`` (the clinician's)."""
    before = record.vitals.before
    systolic, diastolic = limits.bp_threshold
    if before is None or (before.systolic <= systolic and before.diastolic <= diastolic):
        return None
    return gettext(
        language,
        "Blood pressure before dosing {reading} mmHg is above the clinic's threshold of "
        "{threshold}.",
    ).format(reading=f"{before.systolic}/{before.diastolic}", threshold=f"{systolic}/{diastolic}")


# --- on the summary ----------------------------------------------------------------------------


class SessionLine(msgspec.Struct, frozen=True, kw_only=True):
    """One session on the summary: dose, the blood-pressure trend, dissociation, and the
    patient's mood on the days after, side by side."""

    infusion_id: UUID
    day: date
    drug_label: str
    dose_mg: float | None
    dose_mg_per_kg: float | None
    bp_before: str | None  # "150/92"
    bp_peak: str | None  # the highest systolic of the three readings
    bp_discharge: str | None
    dissociation: int | None
    feeling: int | None
    warning: str | None
    mood_after: tuple[float | None, ...]  # daily mean mood on days 1, 2 and 3 after


MOOD_DAYS_AFTER = 3


def _bp(vitals: Vitals | None) -> str | None:
    return None if vitals is None else f"{vitals.systolic}/{vitals.diastolic}"


def session_lines(
    records: Sequence[tuple[SessionRecord, date]],
    moods: dict[date, float],
    limits: ClinicLimits,
    language: str = DEFAULT,
) -> list[SessionLine]:
    """``records`` with their session's local day, oldest first; ``moods`` daily means; the
    warnings in the reader's ``language``."""
    lines = []
    for record, day in records:
        readings = [
            v for v in (record.vitals.before, record.vitals.during, record.vitals.discharge) if v
        ]
        peak = max(readings, key=lambda v: (v.systolic, v.diastolic), default=None)
        lines.append(
            SessionLine(
                infusion_id=record.infusion_id,
                day=day,
                drug_label=DRUGS[record.drug].label,
                dose_mg=record.dose_mg,
                dose_mg_per_kg=record.dose_mg_per_kg,
                bp_before=_bp(record.vitals.before),
                bp_peak=_bp(peak),
                bp_discharge=_bp(record.vitals.discharge),
                dissociation=record.dissociation,
                feeling=record.feeling,
                warning=bp_warning(record, limits, language),
                mood_after=tuple(
                    moods.get(day + timedelta(days=n)) for n in range(1, MOOD_DAYS_AFTER + 1)
                ),
            )
        )
    return lines
