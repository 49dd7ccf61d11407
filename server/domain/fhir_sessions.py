"""Sessions in the FHIR R4 export (server/domain/exports.py): what was given, and what is
planned.

- A session that happened (``completed``, or one with a chair record) is a **Procedure**,
  status ``completed``, coded CPT 96365 ("Intravenous infusion, for therapy, prophylaxis, or
  diagnosis; initial, up to 1 hour"), with 96366 ("each additional hour") added for a session
  over 90 minutes (CPT counts an additional hour once more than 30 minutes of it are given).
  An intramuscular or intranasal session is not an infusion: its Procedure carries the drug's
  route as text, with no CPT code (their codes, 96372 and the HCPCS esketamine codes, depend on
  payer rules this app does not know).
- Every other session (planned, whether ahead or past and not marked done, and cancelled) is an
  **Appointment** (``booked`` or ``cancelled``): a planned session is never a Procedure, so no
  Procedure is ever dated in the future.
- What was given is a **MedicationAdministration**, ``partOf`` its Procedure: the drug coded in
  RxNorm only where the code is verified (ketamine, ingredient 6130), by text otherwise
  (esketamine); the route in SNOMED CT (47625008 intravenous, 78421000 intramuscular,
  46713006 nasal); the dose in mg (UCUM ``mg``), with mg/kg in the dosage text.
- The chair's vital signs are **Observations** (category ``vital-signs``): a blood-pressure
  panel LOINC 85354-9 with components 8480-6 (systolic) and 8462-4 (diastolic) in ``mm[Hg]``,
  and a heart rate 8867-4 in ``/min``, one of each for before, about 40 minutes in and at
  discharge, ``partOf`` the Procedure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from server.domain.chair import MOMENT_LABELS, MOMENTS, SessionRecord, Vitals
from server.domain.courses import DRUGS, Drug
from server.domain.records import Infusion

LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
CPT_INITIAL_HOUR = (
    "96365",
    "Intravenous infusion, for therapy, prophylaxis, or diagnosis; initial, up to 1 hour",
)
CPT_EACH_ADDITIONAL_HOUR = ("96366", "Intravenous infusion; each additional hour")
ADDITIONAL_HOUR_AFTER = timedelta(minutes=90)
ROUTES: Final[dict[str, tuple[str, str]]] = {
    "intravenous": ("47625008", "Intravenous route"),
    "intramuscular": ("78421000", "Intramuscular route"),
    "intranasal": ("46713006", "Nasal route"),
}
VITAL_SIGNS = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
    ]
}
DEFAULT_DRUG: Drug = "iv_ketamine"  # a session with neither a course nor a record


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"system": system, "code": code, "display": display}


def _concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)], "text": display}


def _quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _ref(resource_id: UUID) -> dict[str, str]:
    return {"reference": f"urn:uuid:{resource_id}"}


def session_resources(
    infusions: Sequence[Infusion],
    records: Mapping[UUID, SessionRecord],
    drugs: Mapping[UUID, Drug],
    subject: dict[str, str],
    zone: ZoneInfo,
) -> list[dict[str, Any]]:
    """The resources of every session (see the module). ``records`` by infusion id; ``drugs``
    the drug of each session's course, by infusion id."""
    found: list[dict[str, Any]] = []
    for infusion in infusions:
        record = records.get(infusion.id)
        if infusion.status == "completed" or (
            record is not None and infusion.status != "cancelled"
        ):
            drug = record.drug if record else drugs.get(infusion.id, DEFAULT_DRUG)
            found.append(_procedure(infusion, record, drug, subject, zone))
            if record is not None:
                found.extend(_given(infusion, record, subject, zone))
        else:
            found.append(_appointment(infusion, subject, zone))
    return found


def _period(infusion: Infusion, record: SessionRecord | None, zone: ZoneInfo) -> dict[str, str]:
    start = record.started_at if record and record.started_at else infusion.scheduled_at
    end = (
        record.ended_at
        if record and record.ended_at
        else start + timedelta(minutes=infusion.duration_minutes)
    )
    return {"start": start.astimezone(zone).isoformat(), "end": end.astimezone(zone).isoformat()}


def _procedure(
    infusion: Infusion,
    record: SessionRecord | None,
    drug: Drug,
    subject: dict[str, str],
    zone: ZoneInfo,
) -> dict[str, Any]:
    info = DRUGS[drug]
    if info.route == "intravenous":
        codings = [_coding(CPT, *CPT_INITIAL_HOUR)]
        if timedelta(minutes=infusion.duration_minutes) > ADDITIONAL_HOUR_AFTER:
            codings.append(_coding(CPT, *CPT_EACH_ADDITIONAL_HOUR))
        code: dict[str, Any] = {"coding": codings, "text": f"{info.label} infusion"}
    else:
        code = {"text": f"{info.label} administration"}
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": str(infusion.id),
        "status": "completed",
        "code": code,
        "subject": subject,
        "performedPeriod": _period(infusion, record, zone),
    }
    if infusion.notes:
        resource["note"] = [{"text": infusion.notes}]
    return resource


def _appointment(infusion: Infusion, subject: dict[str, str], zone: ZoneInfo) -> dict[str, Any]:
    period = _period(infusion, None, zone)
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(infusion.id),
        "status": "cancelled" if infusion.status == "cancelled" else "booked",
        "description": "Session",
        "start": period["start"],
        "end": period["end"],
        "minutesDuration": infusion.duration_minutes,
        "participant": [{"actor": subject, "status": "accepted"}],
    }
    if infusion.notes:
        resource["comment"] = infusion.notes
    return resource


def _given(
    infusion: Infusion, record: SessionRecord, subject: dict[str, str], zone: ZoneInfo
) -> list[dict[str, Any]]:
    part_of = [_ref(infusion.id)]
    found = [_administration(infusion, record, subject, zone, part_of)]
    for moment in MOMENTS:
        vitals: Vitals | None = getattr(record.vitals, moment)
        if vitals is not None:
            when = _moment_time(infusion, record, moment, vitals)
            found.extend(_vital_signs(infusion.id, moment, vitals, when, subject, zone, part_of))
    return found


def _administration(
    infusion: Infusion,
    record: SessionRecord,
    subject: dict[str, str],
    zone: ZoneInfo,
    part_of: list[dict[str, str]],
) -> dict[str, Any]:
    info = DRUGS[record.drug]
    medication = (
        _concept(RXNORM, info.rxnorm, info.rxnorm_display or info.label)
        if info.rxnorm
        else {"text": info.label}
    )
    medication["text"] = info.label
    dosage: dict[str, Any] = {"route": _concept(SNOMED, *ROUTES[info.route])}
    if record.dose_mg is not None:
        dosage["dose"] = _quantity(record.dose_mg, "mg", "mg")
    if record.dose_mg_per_kg is not None and record.weight_kg is not None:
        dosage["text"] = f"{record.dose_mg_per_kg:g} mg/kg at {record.weight_kg:g} kg"
    return {
        "resourceType": "MedicationAdministration",
        "id": str(uuid5(infusion.id, "medication-administration")),
        "status": "completed",
        "medicationCodeableConcept": medication,
        "subject": subject,
        "partOf": part_of,
        "effectivePeriod": _period(infusion, record, zone),
        "dosage": dosage,
    }


def _moment_time(
    infusion: Infusion, record: SessionRecord, moment: str, vitals: Vitals
) -> datetime:
    if vitals.at is not None:
        return vitals.at
    start = record.started_at or infusion.scheduled_at
    if moment == "before":
        return start
    if moment == "during":
        return start + timedelta(minutes=40)
    return (
        record.discharged_at
        or record.ended_at
        or start + timedelta(minutes=infusion.duration_minutes)
    )


def _vital_signs(
    infusion_id: UUID,
    moment: str,
    vitals: Vitals,
    when: datetime,
    subject: dict[str, str],
    zone: ZoneInfo,
    part_of: list[dict[str, str]],
) -> list[dict[str, Any]]:
    common = {
        "status": "final",
        "category": [VITAL_SIGNS],
        "subject": subject,
        "partOf": part_of,
        "effectiveDateTime": when.astimezone(zone).isoformat(),
        "note": [{"text": MOMENT_LABELS[moment]}],  # type: ignore[index]
    }
    pressure = {
        "resourceType": "Observation",
        "id": str(uuid5(infusion_id, f"blood-pressure-{moment}")),
        "code": _concept(LOINC, "85354-9", "Blood pressure panel with all children optional"),
        **common,
        "component": [
            {
                "code": _concept(LOINC, "8480-6", "Systolic blood pressure"),
                "valueQuantity": _quantity(vitals.systolic, "mmHg", "mm[Hg]"),
            },
            {
                "code": _concept(LOINC, "8462-4", "Diastolic blood pressure"),
                "valueQuantity": _quantity(vitals.diastolic, "mmHg", "mm[Hg]"),
            },
        ],
    }
    rate = {
        "resourceType": "Observation",
        "id": str(uuid5(infusion_id, f"heart-rate-{moment}")),
        "code": _concept(LOINC, "8867-4", "Heart rate"),
        **common,
        "valueQuantity": _quantity(vitals.heart_rate, "beats/minute", "/min"),
    }
    return [pressure, rate]
