"""Text the services make, in its reader's language (issue 18): the day-before page's ride state
and rideshare advice in the patient's, the companion's question in their browser's, the chair
record's blood-pressure warning and the summary's 12-month remission note in the clinician's,
and the clinic's pre-session instructions written in both languages, each patient reading
theirs (the other one when theirs is empty)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar

from server import db
from server.config import Settings
from tests.helpers.accounts import register
from tests.helpers.client import Client
from tests.helpers.clinics import join_team, make_clinic, make_member
from tests.helpers.log_entries import infusion
from tests.helpers.mail_server import MailServer, deliver, token_in
from tests.helpers.sharing import days_ago, log_assessment, log_infusion, share

SPANISH_BROWSER = {"accept-language": "es-US,es;q=0.9,en;q=0.8"}


async def _session(patient: Any, when: datetime, status: str = "planned") -> str:
    infusion_id = str(uuid.uuid4())
    body = infusion(scheduled_at=when.isoformat(), duration_minutes=60, status=status)
    response = await patient.put(f"/api/v1/infusions/{infusion_id}", json=body)
    assert response.status_code == 201, response.text
    return infusion_id


async def test_the_day_before_page_speaks_the_patients_language(
    client_factory: Any, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    patient = client_factory()
    await register(patient, language="es", display_name="Lucía")
    session = await _session(patient, datetime.now(UTC) + timedelta(days=2))
    url = f"/api/v1/infusions/{session}/checklist"
    assert (await patient.get(url)).json()["ride_state"] == "viaje: sin organizar"
    rideshare = (await patient.put(url, json={"ride": "rideshare"})).json()
    assert rideshare["ride_state"] == "viaje: taxi o viaje compartido"
    assert rideshare["advice"].startswith("No manejes tú, aunque te sientas bien")
    email = f"ana-{uuid.uuid4().hex[:8]}@example.org"
    body = {"ride": "person", "companion": {"name": "Ana", "email": email}}
    asked = await patient.put(url, json=body)
    assert asked.status_code == 200, asked.text
    assert asked.json()["ride_state"] == "viaje: pedido a Ana, aún sin respuesta"
    assert asked.json()["advice"] is None

    # The companion has no account: the page's question follows their browser.
    await deliver(pool, settings, mail_server)
    [message] = mail_server.to(email)
    token = token_in(message)
    companion = client_factory()
    spanish = await companion.post("/api/v1/ride", json={"token": token}, headers=SPANISH_BROWSER)
    question = spanish.json()["question"]
    assert question.startswith("Lucía te pidió que le lleves a casa") and "¿Puedes?" in question
    english = (await companion.post("/api/v1/ride", json={"token": token})).json()["question"]
    assert "asked you to drive them home" in english and english.endswith("Can you?")
    answered = await companion.post("/api/v1/ride/answer", json={"token": token, "answer": "yes"})
    assert answered.status_code == 200
    assert (await patient.get(url)).json()["ride_state"] == "viaje: confirmado por Ana"


async def test_the_blood_pressure_warning_is_in_the_clinicians_language(
    patient: Any, clinician: Any
) -> None:
    await share(patient, clinician)
    assert (await clinician.patch("/api/v1/me", json={"language": "es"})).status_code == 200
    when = datetime.now(UTC) - timedelta(days=2)
    session = await _session(patient, when, "completed")
    url = f"/api/v1/patients/{patient.me['id']}/infusions/{session}/record"
    record = {
        "drug": "iv_ketamine",
        "started_at": when.isoformat(),
        "weight_kg": 72,
        "dose_mg_per_kg": 0.5,
        "before": {"systolic": 146, "diastolic": 88, "heart_rate": 76},
    }
    saved = await clinician.put(url, json=record)
    assert saved.status_code == 200, saved.text
    warning = (
        "La presión arterial antes de la dosis, 146/88 mmHg, supera el umbral de la clínica "
        "de 140/90."
    )
    assert saved.json()["warning"] == warning
    assert (await clinician.get(url)).json()["warning"] == warning
    summary = (await clinician.get(f"/api/v1/patients/{patient.me['id']}/summary")).json()
    assert [line["warning"] for line in summary["sessions"]] == [warning]
    assert (await clinician.patch("/api/v1/me", json={"language": "en"})).status_code == 200
    assert (
        (await clinician.get(url))
        .json()["warning"]
        .startswith("Blood pressure before dosing 146/88 mmHg")
    )


async def test_the_clinic_writes_its_instructions_in_both_languages(
    app: Litestar, pool: db.Pool, client_factory: Any
) -> None:
    clinic = await make_clinic(pool, "Riverside Clinic")
    admin = Client(app)
    await make_member(pool, admin, clinic, ["admin", "front_desk"], "Sam admin")
    readers = {}
    for language in ("en", "es"):
        readers[language] = client_factory()
        await register(readers[language], language=language)
        await join_team(readers[language], admin)
    sessions = {
        language: await _session(reader, datetime.now(UTC) + timedelta(days=1))
        for language, reader in readers.items()
    }

    async def shown() -> dict[str, tuple[str | None, str | None]]:
        found = {}
        for language, reader in readers.items():
            mine = (await reader.get("/api/v1/me/clinic")).json()["pre_session_instructions"]
            url = f"/api/v1/infusions/{sessions[language]}/checklist"
            page = (await reader.get(url)).json()["instructions"]
            found[language] = (mine, page)
        return found

    both = {
        "name": "Riverside Clinic",
        "pre_session_instructions": "Nothing to eat for 4 hours before.",
        "pre_session_instructions_es": "No comas nada en las 4 horas previas.",
    }
    saved = await admin.put("/api/v1/clinic/settings", json=both)
    assert saved.status_code == 200, saved.text
    assert saved.json()["pre_session_instructions_es"] == both["pre_session_instructions_es"]
    assert (await admin.get("/api/v1/clinic/settings")).json()[
        "pre_session_instructions_es"
    ] == both["pre_session_instructions_es"]
    english, spanish = both["pre_session_instructions"], both["pre_session_instructions_es"]
    assert await shown() == {"en": (english, english), "es": (spanish, spanish)}

    # One of them empty: everyone reads the other rather than nothing.
    only_spanish = {"name": "Riverside Clinic", "pre_session_instructions_es": spanish}
    assert (await admin.put("/api/v1/clinic/settings", json=only_spanish)).status_code == 200
    assert await shown() == {"en": (spanish, spanish), "es": (spanish, spanish)}
    only_english = {"name": "Riverside Clinic", "pre_session_instructions": english}
    assert (await admin.put("/api/v1/clinic/settings", json=only_english)).status_code == 200
    assert await shown() == {"en": (english, english), "es": (english, english)}

    too_long = {"name": "Riverside Clinic", "pre_session_instructions_es": "x" * 4001}
    refused = await admin.put("/api/v1/clinic/settings", json=too_long)
    assert refused.status_code in (400, 422)
    assert "pre_session_instructions_es" in refused.text

    # The settings page edits both.
    page = await admin.get("/clinic/settings")
    assert page.status_code == 200, page.text
    assert 'name="pre_session_instructions_es"' in page.text
    doses = {f"esketamine_{d}": "1" for d in (28, 56, 84)}
    form = {"name": "Riverside Clinic", "country": "US", **doses, **both}
    posted = await admin.post("/clinic/settings", data=form)
    assert posted.status_code == 303, posted.text[-3000:]
    assert await shown() == {"en": (english, english), "es": (spanish, spanish)}
    assert spanish in (await admin.get("/clinic/settings")).text
    await admin.aclose()


async def test_the_12_month_remission_note_is_in_the_clinicians_language(
    patient: Any, clinician: Any
) -> None:
    # CMS159: a baseline of 16 before the first infusion, a PHQ-9 of 4 a year later.
    await log_assessment(patient, days_ago(380), "phq9", 16)
    await log_infusion(patient, days_ago(378))
    await log_assessment(patient, days_ago(15), "phq9", 4)
    await share(patient, clinician)
    url = f"/clinician/patients/{patient.me['id']}"
    english = await clinician.get(url)
    assert english.status_code == 200, english.text
    assert f"PHQ-9 4 on {days_ago(15)}, in the 12-month window" in english.text
    assert (await clinician.patch("/api/v1/me", json={"language": "es"})).status_code == 200
    spanish = (await clinician.get(url)).text
    assert f"PHQ-9 4 el {days_ago(15)}, en la ventana de 12 meses" in spanish
    assert "in the 12-month window" not in spanish
