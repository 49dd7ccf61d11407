"""Infusion day (issue 16): the chair record (every out-of-range vital a 422 naming the field,
the blood-pressure warning, the summary's session line) and the ride home (the checklist, the
companion's link: once per answer, nothing about health, expiring, revocable)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from server import db
from server.config import Settings
from server.demo import PATIENTS, create_demo_clinic
from server.domain.mail import health_words
from tests.helpers.log_entries import infusion
from tests.helpers.mail_server import MailServer, assert_neutral, deliver, text_of, token_in
from tests.helpers.sharing import days_ago, log_checkin, share

VITALS = {"systolic": 128, "diastolic": 82, "heart_rate": 74}
OUT_OF_RANGE = [
    (moment, field, value)
    for moment in ("before", "during", "discharge")
    for field, low, high in (("systolic", 60, 260), ("diastolic", 30, 160), ("heart_rate", 30, 220))
    for value in (low - 1, high + 1)
]


async def _session(patient: Any, when: datetime, status: str = "planned") -> str:
    infusion_id = str(uuid.uuid4())
    body = infusion(scheduled_at=when.isoformat(), duration_minutes=60, status=status)
    response = await patient.put(f"/api/v1/infusions/{infusion_id}", json=body)
    assert response.status_code == 201, response.text
    return infusion_id


async def test_every_out_of_range_vital_is_a_422_naming_the_field(
    patient: Any, clinician: Any
) -> None:
    await share(patient, clinician)
    session = await _session(patient, datetime.now(UTC) - timedelta(hours=3), "completed")
    url = f"/api/v1/patients/{patient.me['id']}/infusions/{session}/record"
    for moment, field, value in OUT_OF_RANGE:
        vitals = {**VITALS, field: value}
        if field == "systolic" and value < VITALS["diastolic"]:
            vitals["diastolic"] = 40
        refused = await clinician.put(url, json={"drug": "iv_ketamine", moment: vitals})
        assert refused.status_code == 422, (moment, field, value, refused.text)
        assert refused.json()["field"] == f"{moment}.{field}"
    dose = await clinician.put(
        url, json={"drug": "iv_ketamine", "weight_kg": 70, "dose_mg_per_kg": 1.5}
    )
    assert dose.status_code == 422 and dose.json()["field"] == "dose_mg_per_kg"
    spray = await clinician.put(url, json={"drug": "intranasal_esketamine", "dose_mg": 30})
    assert spray.status_code == 422 and spray.json()["field"] == "dose_mg"
    assert (await clinician.get(url)).status_code == 404  # nothing was stored


async def test_a_session_record_warns_and_reaches_the_summary(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    await share(patient, clinician)
    when = datetime.combine(days_ago(3), datetime.min.time(), UTC) + timedelta(hours=15)
    session = await _session(patient, when, "completed")
    await log_checkin(patient, days_ago(2), 7)
    await log_checkin(patient, days_ago(1), 6)
    url = f"/api/v1/patients/{patient.me['id']}/infusions/{session}/record"
    record = {
        "drug": "iv_ketamine",
        "started_at": when.isoformat(),
        "ended_at": (when + timedelta(minutes=45)).isoformat(),
        "weight_kg": 72,
        "dose_mg_per_kg": 0.5,
        "before": {"systolic": 146, "diastolic": 88, "heart_rate": 76},
        "during": {"systolic": 158, "diastolic": 96, "heart_rate": 90},
        "discharge": {"systolic": 132, "diastolic": 84, "heart_rate": 72},
        "dissociation": 6,
        "feeling": 7,
        "feeling_note": "Calm, a bit floaty.",
        "adverse_events": [{"code": "nausea"}],
        "discharged_at": (when + timedelta(minutes=90)).isoformat(),
        "left_with": "Ana (sister)",
    }
    saved = await clinician.put(url, json=record)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["record"]["dose_mg"] == 36.0 and body["record"]["dose_mg_per_kg"] == 0.5
    assert "146/88" in body["warning"] and "140/90" in body["warning"]
    assert (await clinician.get(url)).json() == body
    # A patient does not write the chair record.
    assert (await patient.put(url, json=record)).status_code == 403

    summary = (await clinician.get(f"/api/v1/patients/{patient.me['id']}/summary")).json()
    [line] = summary["sessions"]
    assert line["infusion_id"] == session and line["dose_mg"] == 36.0
    assert (line["bp_before"], line["bp_peak"], line["bp_discharge"]) == (
        "146/88",
        "158/96",
        "132/84",
    )
    assert line["dissociation"] == 6 and line["mood_after"][:2] == [7.0, 6.0]
    async with pool.acquire() as conn:
        actions = await conn.fetch(
            "SELECT detail FROM audit_events WHERE patient_id = $1::text::uuid"
            " AND action = 'infusion_change'",
            patient.me["id"],
        )
    assert any((a["detail"] or {}).get("session_record") for a in actions)

    exported = await clinician.get(f"/api/v1/patients/{patient.me['id']}/export.fhir")
    bundle = exported.json()
    Bundle.model_validate(bundle)
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Procedure", "MedicationAdministration", "Observation"} <= kinds
    [given] = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationAdministration"
    ]
    assert given["medicationCodeableConcept"]["coding"][0]["code"] == "6130"
    codes = {
        e["resource"]["code"]["coding"][0]["code"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
    }
    assert {"85354-9", "8867-4"} <= codes


async def _name_ana(patient: Any, session: str, email: str) -> Any:
    body = {
        "ride": "person",
        "companion": {"name": "Ana", "email": email},
        "instructions_read": True,
        "message": "I will bring my own water.",
    }
    response = await patient.put(f"/api/v1/infusions/{session}/checklist", json=body)
    assert response.status_code == 200, response.text
    return response.json()


FORBIDDEN_ON_THE_PAGE = ("mood", "score", "ketamine", "esketamine", "depress", "infusion", "phq")


async def test_the_companion_answers_once_and_learns_nothing_of_health(
    patient: Any,
    client_factory: Any,
    pool: db.Pool,
    settings: Settings,
    mail_server: MailServer,
) -> None:
    session = await _session(patient, datetime.now(UTC) + timedelta(days=1))
    email = f"ana-{uuid.uuid4().hex[:8]}@example.org"
    shown = await _name_ana(patient, session, email)
    assert shown["ride_state"] == "ride: asked Ana, no answer yet"
    await deliver(pool, settings, mail_server)
    [message] = mail_server.to(email)
    assert_neutral(message)
    text = text_of(message)
    assert "asked you to drive them home from their appointment at" in text and "Can you?" in text
    for word in FORBIDDEN_ON_THE_PAGE:
        assert word not in text.lower()
    token = token_in(message)

    companion = client_factory()  # no account, no cookie but CSRF's
    page = await companion.get("/ride")
    assert page.status_code == 200 and health_words(page.text) == []
    for word in FORBIDDEN_ON_THE_PAGE:
        assert word not in page.text.lower()
    asked = await companion.post("/api/v1/ride", json={"token": token})
    assert asked.status_code == 200 and asked.json()["state"] == "open"
    question = asked.json()["question"]
    assert question.startswith("Test asked you to drive") or "asked you to drive" in question
    assert health_words(asked.text) == []

    yes = await companion.post("/api/v1/ride/answer", json={"token": token, "answer": "yes"})
    assert yes.status_code == 200
    again = await companion.post("/api/v1/ride/answer", json={"token": token, "answer": "no"})
    assert again.status_code == 409
    state = (await patient.get(f"/api/v1/infusions/{session}/checklist")).json()
    assert state["ride_state"] == "ride: confirmed by Ana"
    assert state["checklist"]["companion"]["answer"] == "yes"
    made_up = await companion.post("/api/v1/ride/answer", json={"token": "x" * 43, "answer": "yes"})
    assert made_up.status_code == 404


async def test_a_spanish_speaking_patient_s_companion_is_asked_in_spanish(
    patient: Any, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    # A companion has no account: the email follows the language of the patient who asks.
    changed = await patient.patch("/api/v1/me", json={"language": "es"})
    assert changed.status_code == 200, changed.text
    session = await _session(patient, datetime.now(UTC) + timedelta(days=1))
    email = f"ana-{uuid.uuid4().hex[:8]}@example.org"
    await _name_ana(patient, session, email)
    await deliver(pool, settings, mail_server)
    [message] = mail_server.to(email)
    assert_neutral(message)
    text = text_of(message)
    assert "te pidió que le lleves a casa" in text and "¿Puedes?" in text, text
    assert "Hola, Ana:" in text and "Responde sí o no aquí" in text
    assert "asked you" not in text and "Answer yes or no" not in text


@pytest.mark.parametrize("ending", ["revoked", "expired"])
async def test_a_revoked_or_expired_link_is_refused(
    ending: str,
    patient: Any,
    client_factory: Any,
    pool: db.Pool,
    settings: Settings,
    mail_server: MailServer,
) -> None:
    session = await _session(patient, datetime.now(UTC) + timedelta(days=1))
    email = f"ana-{uuid.uuid4().hex[:8]}@example.org"
    await _name_ana(patient, session, email)
    await deliver(pool, settings, mail_server)
    token = token_in(mail_server.to(email)[0])
    if ending == "revoked":
        gone = await patient.delete(f"/api/v1/infusions/{session}/companion")
        assert gone.status_code == 204
    else:
        async with pool.acquire() as conn:
            await conn.execute(
                "UPDATE companion_links SET expires_at = now() - interval '1 minute'"
                " WHERE infusion_id = $1::text::uuid",
                session,
            )
    companion = client_factory()
    asked = await companion.post("/api/v1/ride", json={"token": token})
    assert asked.json() == {"state": ending, "question": None, "answer": None}
    refused = await companion.post("/api/v1/ride/answer", json={"token": token, "answer": "yes"})
    assert refused.status_code == 410
    state = (await patient.get(f"/api/v1/infusions/{session}/checklist")).json()
    assert state["ride_state"] != "ride: confirmed by Ana"


async def test_rideshare_and_getting_home_safely(patient: Any) -> None:
    session = await _session(patient, datetime.now(UTC) + timedelta(days=1))
    url = f"/api/v1/infusions/{session}/checklist"
    assert (await patient.get(url)).json()["ride_state"] == "ride: not arranged"
    chosen = await patient.put(url, json={"ride": "rideshare"})
    assert chosen.status_code == 200
    assert chosen.json()["ride_state"] == "ride: rideshare"
    assert "Do not drive" in chosen.json()["advice"] and "alone" in chosen.json()["advice"]
    nameless = await patient.put(url, json={"ride": "person"})
    assert nameless.status_code == 400 and nameless.json()["field"] == "companion"
    home = await patient.put(f"/api/v1/infusions/{session}/home-safely", json={"home": True})
    assert home.status_code == 204
    assert (await patient.get(url)).json()["checklist"]["home_safely"] is True
    stranger = await patient.get(f"/api/v1/infusions/{uuid.uuid4()}/checklist")
    assert stranger.status_code == 404
    page = await patient.get("/day-before")
    assert page.status_code == 200 and "Before your session" in page.text
    exported = (await patient.get("/api/v1/me/export")).json()
    [mine] = exported["day_before"]["checklists"]
    assert (mine["ride"], mine["home_safely"]) == ("rideshare", True)
    assert exported["courses"] == [] and exported["session_records"] == []


async def test_the_demo_clinic_has_plans_chair_records_and_rides(pool: db.Pool) -> None:
    async with pool.acquire() as conn:
        await create_demo_clinic(conn)
        kinds = await conn.fetch(
            """SELECT c.kind, count(*) AS n FROM courses c JOIN users u ON u.id = c.patient_id
                WHERE u.email = ANY($1::text[]) GROUP BY c.kind""",
            [p.email for p in PATIENTS],
        )
        records = await conn.fetch(
            """SELECT r.vitals FROM session_records r JOIN users u ON u.id = r.patient_id
                WHERE u.email = ANY($1::text[])""",
            [p.email for p in PATIENTS],
        )
        rides = await conn.fetchval(
            """SELECT count(*) FROM session_checklists s JOIN users u ON u.id = s.patient_id
                WHERE u.email = ANY($1::text[])""",
            [p.email for p in PATIENTS],
        )
    started = [p for p in PATIENTS if p.first_infusion is not None]
    assert {r["kind"]: r["n"] for r in kinds}["induction"] == len(started)
    assert "maintenance" in {r["kind"] for r in kinds}
    assert len(records) == 6 * len(started)
    assert all(set(r["vitals"]) == {"before", "during", "discharge"} for r in records)
    assert rides == sum(1 for p in PATIENTS if p.next_planned is not None)
