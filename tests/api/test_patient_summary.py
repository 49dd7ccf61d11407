"""The summary, exports, the clinician's list and pages, through HTTP against a real database,
with the audit row each clinician view, export and change leaves."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fhir.resources.R4B.bundle import Bundle

from server import db
from server.domain.exports import CSV_COLUMNS
from tests.helpers.accounts import make_clinician, register
from tests.helpers.sharing import (
    at,
    audit_rows,
    days_ago,
    log_assessment,
    log_checkin,
    log_infusion,
    share,
)

INFUSION_DAYS = (30, 27)


async def treatment_log(patient: Any) -> None:
    """A baseline PHQ-9 of 20 before two infusions, then 9 with item 9 answered 1; daily
    check-ins for 35 days with severe nausea on infusion days; two GAD-7s."""
    await log_assessment(patient, days_ago(33), "phq9", 20)
    await log_assessment(patient, days_ago(33), "gad7", 14)
    for n in INFUSION_DAYS:
        await log_infusion(patient, days_ago(n))
    await log_assessment(patient, days_ago(10), "phq9", 9, item9=1)
    await log_assessment(patient, days_ago(10), "gad7", 8)
    for n in range(35, 0, -1):
        effects = [("nausea", 3), ("dissociation", 2)] if n in INFUSION_DAYS else []
        mood = 7 if n in (29, 28, 26, 25) else 4
        await log_checkin(patient, days_ago(n), mood, effects)


async def test_summary_numbers_for_a_clinician_with_one_audit_row(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    await treatment_log(patient)
    await share(patient, clinician)
    pid = patient.me["id"]
    response = await clinician.get(f"/api/v1/patients/{pid}/summary")
    assert response.status_code == 200, response.text
    summary = response.json()
    phq9 = summary["phq9"]
    assert (phq9["baseline"], phq9["latest"], phq9["change_pct"]) == (20, 9, -55.0)
    assert (phq9["response"], phq9["remission"]) == (True, False)
    assert phq9["baseline_day"] == days_ago(33).isoformat()
    assert summary["gad7"]["latest"] == 8
    today = datetime.now(ZoneInfo("America/New_York")).date()
    assert summary["last"] == today.isoformat()  # by default, the 90 days up to today
    assert summary["first"] == (today - timedelta(days=89)).isoformat()
    assert len(summary["mood"]) == 90
    kinds = {(f["kind"], f["day"]) for f in summary["flags"]}
    assert ("item9", days_ago(10).isoformat()) in kinds
    assert ("severe_side_effect", days_ago(30).isoformat()) in kinds
    glow = {g["day"]: g for g in summary["afterglow"]}
    # Mood 4 the week before, 7 on days 29 and 28, the next infusion on day 27.
    assert glow[days_ago(30).isoformat()]["days"] == 2
    assert glow[days_ago(30).isoformat()]["ended"] == "next_infusion"
    assert glow[days_ago(27).isoformat()]["ended"] == "fell_back"
    nausea = next(r for r in summary["side_effects"]["rows"] if r["code"] == "nausea")
    assert (nausea["count"], nausea["worst"], nausea["by_day"]["0"]) == (2, 3, 2)
    assert summary["adherence"]["days_logged"] == 35

    rows = await audit_rows(pool, pid, "view_summary")
    assert len(rows) == 1
    assert str(rows[0]["actor_id"]) == clinician.me["id"]
    assert rows[0]["address"] == clinician.address
    log = (await patient.get("/api/v1/me/access-log")).json()["items"]
    assert log[0]["action"] == "view_summary" and log[0]["actor"]["name"] == "Dr. Test"


async def test_the_patients_own_view_is_not_audited(patient: Any, pool: db.Pool) -> None:
    response = await patient.get(
        f"/api/v1/patients/{patient.me['id']}/summary",
        params={"from": days_ago(10).isoformat(), "to": days_ago(1).isoformat()},
    )
    assert response.status_code == 200
    assert response.json()["phq9"]["baseline"] is None
    assert "no baseline" in response.json()["phq9"]["baseline_note"]
    assert await audit_rows(pool, patient.me["id"], "view_summary") == []


async def test_summary_range_is_checked(patient: Any) -> None:
    url = f"/api/v1/patients/{patient.me['id']}/summary"
    bad = await patient.get(url, params={"from": "2025-03-02", "to": "2025-03-01"})
    assert bad.status_code == 400 and bad.json()["field"] == "from"
    bad = await patient.get(url, params={"from": "2001-01-01", "to": "2025-03-01"})
    assert bad.status_code == 400
    bad = await patient.get(url, params={"from": "yesterday"})
    assert bad.status_code == 400


async def test_csv_export_has_the_documented_header_and_one_row_per_entry(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    await treatment_log(patient)
    await share(patient, clinician)
    response = await clinician.get(f"/api/v1/patients/{patient.me['id']}/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    kinds = [r[0] for r in rows[1:]]
    assert (kinds.count("checkin"), kinds.count("assessment"), kinds.count("infusion")) == (
        35,
        4,
        2,
    )
    assert len(await audit_rows(pool, patient.me["id"], "export_csv")) == 1


async def test_fhir_export_validates_as_r4(patient: Any, clinician: Any, pool: db.Pool) -> None:
    await treatment_log(patient)
    await share(patient, clinician)
    response = await clinician.get(f"/api/v1/patients/{patient.me['id']}/export.fhir")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    document = response.json()
    # fhir.resources ships R5 at the top level, R4B (structurally R4 for these resources) here.
    bundle = Bundle.model_validate(document)
    assert bundle.type == "collection"
    resources = [e["resource"] for e in document["entry"]]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(r)
    responses = by_type["QuestionnaireResponse"]
    assert sorted(r["questionnaire"] for r in responses) == [
        "http://loinc.org/q/44249-1",
        "http://loinc.org/q/44249-1",
        "http://loinc.org/q/69737-5",
        "http://loinc.org/q/69737-5",
    ]
    observations = by_type["Observation"]
    codes = [o["code"]["coding"][0]["code"] for o in observations]
    assert codes.count("44261-6") == 2 and codes.count("70274-6") == 2
    assert codes.count("44260-8") == 2
    assert codes.count("mood") == 35
    full_urls = {e["fullUrl"] for e in document["entry"]}
    for o in observations:
        if o["code"]["coding"][0]["code"] in ("44261-6", "70274-6", "44260-8"):
            (ref,) = o["derivedFrom"]
            assert ref["reference"] in full_urls
    totals = {
        o["valueInteger"] for o in observations if o["code"]["coding"][0]["code"] == "44261-6"
    }
    assert totals == {20, 9}
    item9 = [o for o in observations if o["code"]["coding"][0]["code"] == "44260-8"]
    assert {o["valueCodeableConcept"]["coding"][0]["code"] for o in item9} == {
        "LA6568-5",
        "LA6569-3",
    }
    assert len(by_type["Procedure"]) == 2 and len(by_type["Patient"]) == 1
    assert len(await audit_rows(pool, patient.me["id"], "export_fhir")) == 1


async def test_clinician_list_puts_flags_first_and_audits_each_patient(
    client_factory: Any, clinician: Any, pool: db.Pool
) -> None:
    calm, flagged = client_factory(), client_factory()
    calm.me = await register(calm, display_name="Aaron Calm")
    flagged.me = await register(flagged, display_name="Zoe Flagged")
    await log_assessment(calm, days_ago(20), "phq9", 12)
    await log_infusion(calm, days_ago(15))
    await log_assessment(calm, days_ago(5), "phq9", 4)
    for n in range(6, 0, -1):
        await log_checkin(calm, days_ago(n), 6)
    await log_assessment(flagged, days_ago(3), "phq9", 15, item9=2)
    await share(calm, clinician)
    await share(flagged, clinician)

    response = await clinician.get("/api/v1/clinician/patients")
    assert response.status_code == 200
    rows = response.json()["items"]
    assert [r["patient"]["display_name"] for r in rows] == ["Zoe Flagged", "Aaron Calm"]
    zoe, aaron = rows
    assert zoe["flags"][0]["kind"] == "item9" and zoe["flags"][0]["day"] == days_ago(3).isoformat()
    assert zoe["phq9"]["latest"] == 15 and zoe["phq9"]["baseline"] is None
    assert (aaron["phq9"]["baseline"], aaron["phq9"]["latest"]) == (12, 4)
    assert (aaron["phq9"]["response"], aaron["phq9"]["remission"]) == (True, True)
    assert aaron["phq9"]["change_pct"] == -66.7
    assert aaron["trend"] == "remission"
    assert aaron["last_checkin_day"] == days_ago(1).isoformat()
    assert aaron["flags"] == []
    for p in (calm, flagged):
        assert len(await audit_rows(pool, p.me["id"], "view_patient_list")) == 1


async def test_a_clinician_adds_and_moves_an_infusion(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    await share(patient, clinician)
    base = f"/api/v1/patients/{patient.me['id']}/infusions"
    infusion_id = str(uuid.uuid4())
    day, next_day = days_ago(-20), days_ago(-21)
    body = {"scheduled_at": at(day, 15), "duration_minutes": 40}
    created = await clinician.put(f"{base}/{infusion_id}", json=body)
    assert created.status_code == 201, created.text
    moved = await clinician.put(
        f"{base}/{infusion_id}", json=body | {"scheduled_at": at(next_day, 15)}
    )
    assert moved.status_code == 200
    assert moved.json()["local_day"] == next_day.isoformat()
    listed = await clinician.get(base)
    assert [i["id"] for i in listed.json()["items"]] == [infusion_id]
    own = await patient.get(f"/api/v1/infusions/{infusion_id}")
    assert own.json()["local_day"] == next_day.isoformat()
    assert len(await audit_rows(pool, patient.me["id"], "infusion_change")) == 2
    assert len(await audit_rows(pool, patient.me["id"], "view_infusions")) == 1
    bad = await clinician.put(f"{base}/{infusion_id}", json=body | {"duration_minutes": 5})
    assert bad.status_code == 400


async def test_summary_page_renders_accessible_charts_and_is_audited_once(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    await treatment_log(patient)
    await share(patient, clinician)
    url = f"/clinician/patients/{patient.me['id']}"
    for preset in ("since_infusion", "30", "90", "all"):
        response = await clinician.get(url, params={"range": preset})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        html = response.text
        assert html.count("<svg") == 2
        assert '<title id="mood-title">' in html and '<desc id="mood-desc">' in html
        assert '<title id="scores-title">' in html and '<desc id="scores-desc">' in html
        assert "Test Patient" in html
        assert "<script" not in html and "style=" not in html
        assert 'href="/static/css/clinician.css"' in html
    assert "PHQ-9 item 9" in html and "Severe side effect" in html
    assert len(await audit_rows(pool, patient.me["id"], "view_summary")) == 4
    bad = await clinician.get(url, params={"range": "7"})
    assert bad.status_code == 400


async def test_patient_list_page(patient: Any, clinician: Any) -> None:
    await log_assessment(patient, days_ago(3), "phq9", 12, item9=1)
    await share(patient, clinician)
    response = await clinician.get("/clinician")
    assert response.status_code == 200
    assert f'href="/clinician/patients/{patient.me["id"]}"' in response.text
    assert 'class="urgent"' in response.text
    assert (await patient.get("/clinician")).status_code in (302, 303)


async def test_accept_form_with_the_hidden_csrf_field(patient: Any, clinician: Any) -> None:
    form = await clinician.get("/clinician/accept")
    assert form.status_code == 200
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    made = (await patient.post("/api/v1/shares", json=None)).json()
    clinician.csrf = False  # the form's hidden field, not the header
    wrong = await clinician.post(
        "/clinician/accept", data={"code": "AAAA-AAAA-AA", "_csrf_token": token.group(1)}
    )
    assert wrong.status_code == 404
    assert "not valid" in wrong.text
    missing = await clinician.post("/clinician/accept", data={"code": made["code"]})
    assert missing.status_code == 403
    response = await clinician.post(
        "/clinician/accept", data={"code": made["code"], "_csrf_token": token.group(1)}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/clinician/patients/{patient.me['id']}"


async def test_patient_sharing_page_makes_and_withdraws_codes(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    page = await patient.get("/sharing")
    assert page.status_code == 200 and "Nobody" in page.text
    made = await patient.post("/sharing/codes")  # redirect-after-post: shown once on /sharing
    assert made.status_code == 303 and made.headers["location"] == "/sharing"
    shown = await patient.get("/sharing")
    code = re.search(r"<strong>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2})</strong>", shown.text)
    assert code is not None
    accepted = await clinician.post("/api/v1/shares/accept", json={"code": code.group(1)})
    assert accepted.status_code == 200
    await clinician.get(f"/api/v1/patients/{patient.me['id']}/summary")
    page = await patient.get("/sharing")
    assert "Dr. Test" in page.text and "Viewed your summary" in page.text
    share_id = accepted.json()["id"]
    withdrawn = await patient.post(f"/sharing/{share_id}/revoke")
    assert withdrawn.status_code == 303
    assert (await clinician.get(f"/api/v1/patients/{patient.me['id']}/summary")).status_code == 404
    assert (await clinician.get("/sharing")).status_code in (302, 303)
    assert made.headers["cache-control"] == shown.headers["cache-control"] == "no-store"


async def test_item9_alerts_every_clinician_with_an_active_share(
    patient: Any, clinician: Any, client_factory: Any, pool: db.Pool
) -> None:
    unshared = client_factory()
    await make_clinician(pool, unshared, "Dr. Unshared")
    await share(patient, clinician)
    await log_assessment(patient, days_ago(1), "phq9", 12, item9=1)
    await log_assessment(patient, days_ago(1), "phq9", 13, item9=2)  # same day: one alert
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT user_id, payload, urgency FROM push_outbox
                WHERE kind = 'patient_attention' AND occurrence IN (
                    SELECT 'alert:' || id FROM alerts WHERE patient_id = $1::text::uuid)""",
            patient.me["id"],
        )
    assert [str(r["user_id"]) for r in rows] == [clinician.me["id"]]
    payload = rows[0]["payload"]
    assert payload["url"] == "/clinician" and rows[0]["urgency"] == "high"
    text = json.dumps(payload).lower()
    assert "phq" not in text and "test patient" not in text and "item" not in text


async def test_the_page_says_whether_reminders_reach_the_patient(
    patient: Any, clinician: Any
) -> None:
    await share(patient, clinician)
    url = f"/clinician/patients/{patient.me['id']}"
    assert "No device is subscribed" in (await clinician.get(url)).text
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    response = await patient.post(
        "/api/v1/push/subscriptions",
        json={
            "endpoint": f"https://updates.push.services.mozilla.com/wpush/v2/{uuid.uuid4()}",
            "keys": {
                "p256dh": base64.urlsafe_b64encode(raw).decode().rstrip("="),
                "auth": base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("="),
            },
        },
    )
    assert response.status_code in (200, 201), response.text
    assert "1 of 1</strong> subscribed device working" in (await clinician.get(url)).text


async def test_each_clinician_view_and_export_is_one_line_in_the_patients_access_log(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    await log_checkin(patient, days_ago(1), 6)
    await share(patient, clinician)
    pid = patient.me["id"]
    before = len(await audit_rows(pool, pid))
    for url in (
        f"/api/v1/patients/{pid}/summary",
        f"/clinician/patients/{pid}",
        f"/api/v1/patients/{pid}/export.csv",
        f"/api/v1/patients/{pid}/export.fhir",
        f"/api/v1/patients/{pid}/infusions",
        "/api/v1/clinician/patients",
        "/clinician",
    ):
        assert (await clinician.get(url)).status_code == 200, url
    assert len(await audit_rows(pool, pid)) == before + 7
    log = (await patient.get("/api/v1/me/access-log")).json()["items"][:7]
    assert [e["action"] for e in reversed(log)] == [
        "view_summary",
        "view_summary",
        "export_csv",
        "export_fhir",
        "view_infusions",
        "view_patient_list",
        "view_patient_list",
    ]
    assert {e["actor"]["id"] for e in log} == {clinician.me["id"]}
    assert {e["address"] for e in log} == {clinician.address}
    # The patient's own use of the same endpoints leaves nothing.
    for url in (f"/api/v1/patients/{pid}/summary", f"/api/v1/patients/{pid}/export.csv"):
        assert (await patient.get(url)).status_code == 200
    assert len(await audit_rows(pool, pid)) == before + 7
