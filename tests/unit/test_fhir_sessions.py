"""Sessions in the FHIR export (issue 16): Procedure once given (CPT 96365/96366), Appointment
while planned, MedicationAdministration (RxNorm 6130 for ketamine, text for esketamine) and
vital-sign Observations (LOINC 85354-9 with 8480-6/8462-4, 8867-4, UCUM), validated as R4."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

from fhir.resources.R4B.bundle import Bundle

from server.domain.accounts import User
from server.domain.chair import SessionRecord, Vitals, VitalSigns
from server.domain.courses import Drug
from server.domain.exports import fhir_bundle
from server.domain.records import Infusion

NOW = datetime(2025, 3, 10, 18, tzinfo=UTC)
PATIENT = User(
    id=uuid4(),
    email="p@example.org",
    role="patient",
    display_name="Pat",
    timezone="Europe/Berlin",
    created_at=NOW,
)


def _session(days: int, status: str, minutes: int = 40) -> Infusion:
    when = NOW + timedelta(days=days)
    return Infusion(
        id=uuid4(),
        patient_id=PATIENT.id,
        scheduled_at=when,
        local_day=when.date(),
        duration_minutes=minutes,
        status=status,  # type: ignore[arg-type]
        updated_at=NOW,
    )


def _record(session: Infusion, drug: Drug, **dose: Any) -> SessionRecord:
    return SessionRecord(
        infusion_id=session.id,
        patient_id=PATIENT.id,
        drug=drug,
        started_at=session.scheduled_at,
        ended_at=session.scheduled_at + timedelta(minutes=session.duration_minutes),
        weight_kg=dose.get("weight_kg"),
        dose_mg_per_kg=dose.get("dose_mg_per_kg"),
        dose_mg=dose.get("dose_mg"),
        vitals=VitalSigns(
            before=Vitals(systolic=132, diastolic=84, heart_rate=72),
            during=Vitals(systolic=151, diastolic=92, heart_rate=88),
            discharge=Vitals(systolic=128, diastolic=80, heart_rate=70),
        ),
        dissociation=5,
        feeling=7,
        feeling_note=None,
        adverse_events=(),
        discharged_at=None,
        left_with="Ana",
        recorded_by=None,
        updated_at=NOW,
    )


def _by_type(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in document["entry"]:
        found.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return found


def test_given_sessions_are_procedures_with_their_drug_and_vitals() -> None:
    iv = _session(-7, "completed", minutes=100)
    spray = _session(-3, "planned")  # not marked done, but the chair recorded it
    ahead = _session(4, "planned")
    off = _session(6, "cancelled")
    document = fhir_bundle(
        PATIENT,
        [],
        [],
        [iv, spray, ahead, off],
        base_url="https://clinic.example",
        now=NOW,
        records={
            iv.id: _record(iv, "iv_ketamine", weight_kg=80, dose_mg_per_kg=0.5, dose_mg=40),
            spray.id: _record(spray, "intranasal_esketamine", dose_mg=56),
        },
    )
    Bundle.model_validate(document)
    found = _by_type(document)

    procedures = {p["id"]: p for p in found["Procedure"]}
    assert set(procedures) == {str(iv.id), str(spray.id)}
    codes = [c["code"] for c in procedures[str(iv.id)]["code"]["coding"]]
    assert codes == ["96365", "96366"]  # 100 minutes: an additional hour
    assert "coding" not in procedures[str(spray.id)]["code"]  # not an infusion
    for p in procedures.values():
        assert datetime.fromisoformat(p["performedPeriod"]["start"]) <= NOW

    appointments = {a["id"]: a["status"] for a in found["Appointment"]}
    assert appointments == {str(ahead.id): "booked", str(off.id): "cancelled"}

    given = {m["partOf"][0]["reference"]: m for m in found["MedicationAdministration"]}
    ketamine = given[f"urn:uuid:{iv.id}"]["medicationCodeableConcept"]
    assert ketamine["coding"][0] == {
        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
        "code": "6130",
        "display": "ketamine",
    }
    dose = given[f"urn:uuid:{iv.id}"]["dosage"]
    assert dose["dose"]["value"] == 40 and dose["dose"]["code"] == "mg"
    assert dose["route"]["coding"][0]["code"] == "47625008"
    esketamine = given[f"urn:uuid:{spray.id}"]["medicationCodeableConcept"]
    assert "coding" not in esketamine and "sketamine" in esketamine["text"]

    observations = found["Observation"]
    assert len(observations) == 2 * 2 * 3  # two sessions, panel and rate, three times
    panels = [o for o in observations if o["code"]["coding"][0]["code"] == "85354-9"]
    rates = [o for o in observations if o["code"]["coding"][0]["code"] == "8867-4"]
    assert len(panels) == len(rates) == 6
    parts = [(c["code"]["coding"][0]["code"], c["valueQuantity"]) for c in panels[1]["component"]]
    assert parts == [
        (
            "8480-6",
            {"value": 151, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
        ),
        (
            "8462-4",
            {"value": 92, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
        ),
    ]
    assert {r["valueQuantity"]["code"] for r in rates} == {"/min"}
    assert all(o["category"][0]["coding"][0]["code"] == "vital-signs" for o in observations)
    assert date.fromisoformat(panels[0]["effectiveDateTime"][:10]) == iv.local_day
