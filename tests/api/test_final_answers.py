"""Safety answers are final (issue 13): a stored questionnaire is never changed, through PUT or
/sync, and a patient who takes one back retracts it: it leaves their own log and devices, while
their clinician still sees it, marked retracted, with every flag it raised."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from server import db
from tests.helpers.log_entries import new_id, snapshot
from tests.helpers.sharing import at, days_ago, log_assessment, log_infusion, share

URL = "/api/v1/assessments"
WITH_ITEM9 = [1, 1, 1, 1, 1, 0, 0, 0, 1]  # total 6, item 9 answered 1
WITHOUT_ITEM9 = [1, 1, 1, 1, 1, 0, 0, 0, 0]


def phq9_on(back: int, answers: list[int]) -> dict[str, Any]:
    return {"instrument": "phq9", "answers": answers, "taken_at": at(days_ago(back), 14)}


def later(minutes: int = 5) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


async def sync(client: Any, changes: list[dict[str, Any]], since: str | None = None) -> Any:
    response = await client.post("/api/v1/sync", json={"changes": changes, "since": since})
    assert response.status_code == 200, response.text
    return response.json()


def upsert(entry: str, data: dict[str, Any], updated_at: str) -> dict[str, Any]:
    return {
        "kind": "assessment",
        "id": entry,
        "op": "upsert",
        "updated_at": updated_at,
        "data": data,
    }


async def item9_flags_seen_by(clinician: Any, patient_id: str) -> list[dict[str, Any]]:
    summary = await clinician.get(f"/api/v1/patients/{patient_id}/summary")
    assert summary.status_code == 200, summary.text
    return [f for f in summary.json()["flags"] if f["kind"] == "item9"]


async def item9_alerts_of(clinician: Any, patient_id: str) -> list[str]:
    """The days of the clinician's item-9 alerts about the patient (open or not)."""
    response = await clinician.get("/api/v1/clinician/alerts", params={"state": "all"})
    assert response.status_code == 200, response.text
    return [
        a["day"] for a in response.json() if a["patient_id"] == patient_id and a["kind"] == "item9"
    ]


async def test_a_changed_safety_answer_is_refused_and_its_flag_stays(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    await share(patient, clinician)
    pid, entry = patient.me["id"], new_id()
    body = phq9_on(2, WITH_ITEM9)
    first = await patient.put(f"{URL}/{entry}", json=body)
    assert first.status_code == 201 and "safety" in first.json()
    before = await snapshot(pool)

    # The same answers again (the server's clock makes it a newer change): nothing moves.
    same = await patient.put(f"{URL}/{entry}", json=body | {"updated_at": later()})
    assert same.status_code == 200, same.text
    assert same.json()["answers"] == WITH_ITEM9
    assert await snapshot(pool) == before

    # Item 9 from 1 to 0, with a newer change time: refused, and nothing moves.
    changed = await patient.put(
        f"{URL}/{entry}", json=phq9_on(2, WITHOUT_ITEM9) | {"updated_at": later(10)}
    )
    assert changed.status_code == 409, changed.text
    assert changed.headers["content-type"].startswith("application/problem+json")
    assert "final" in changed.json()["detail"]
    assert await snapshot(pool) == before
    assert (await patient.get(f"{URL}/{entry}")).json()["answers"] == WITH_ITEM9

    [flag] = await item9_flags_seen_by(clinician, pid)
    assert flag["day"] == days_ago(2).isoformat() and "answered 1 of 3" in flag["detail"]
    page = await clinician.get(f"/clinician/patients/{pid}")
    assert "PHQ-9 item 9" in page.text and "answered 1 of 3" in page.text
    assert await item9_alerts_of(clinician, pid) == [days_ago(2).isoformat()]


async def test_sync_cannot_change_a_stored_safety_answer(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    await share(patient, clinician)
    pid, entry = patient.me["id"], new_id()
    first = await sync(patient, [upsert(entry, phq9_on(3, WITH_ITEM9), later(0))])
    assert first["results"][0]["status"] == "applied"
    assert "safety" in first["results"][0]
    before = await snapshot(pool)

    replay = await sync(patient, [upsert(entry, phq9_on(3, WITH_ITEM9), later(5))])
    assert replay["results"][0]["status"] == "unchanged"
    edited = await sync(patient, [upsert(entry, phq9_on(3, WITHOUT_ITEM9), later(10))])
    [result] = edited["results"]
    assert result["status"] == "rejected", result
    assert result["problem"]["status"] == 409 and "final" in result["problem"]["detail"]
    assert await snapshot(pool) == before

    [flag] = await item9_flags_seen_by(clinician, pid)
    assert flag["day"] == days_ago(3).isoformat()
    assert "PHQ-9 item 9" in (await clinician.get(f"/clinician/patients/{pid}")).text
    assert await item9_alerts_of(clinician, pid) == [days_ago(3).isoformat()]


async def test_a_retracted_safety_answer_leaves_the_patients_log_and_stays_with_the_clinician(
    patient: Any, clinician: Any, client_factory: Any, pool: db.Pool
) -> None:
    await share(patient, clinician)
    pid, entry = patient.me["id"], new_id()
    assert (await patient.put(f"{URL}/{entry}", json=phq9_on(4, WITH_ITEM9))).status_code == 201
    device = await sync(patient, [])  # another phone, up to date before the retraction

    assert (await patient.delete(f"{URL}/{entry}")).status_code == 204
    assert (await patient.delete(f"{URL}/{entry}")).status_code == 204  # again: nothing more

    # Gone from the patient's own log, lists, charts and devices...
    assert (await patient.get(f"{URL}/{entry}")).status_code == 404
    assert (await patient.get(URL)).json()["items"] == []
    own = (await patient.get(f"/api/v1/patients/{pid}/summary")).json()
    assert own["phq9"]["series"] == [] and own["flags"] == []
    feed = await sync(patient, [], device["cursor"])
    assert [(c["id"], c["op"], c["data"]) for c in feed["changes"]] == [(entry, "delete", None)]

    # ...kept for the clinician: the flag it raised, and the answers, marked retracted.
    summary = (await clinician.get(f"/api/v1/patients/{pid}/summary")).json()
    [flag] = [f for f in summary["flags"] if f["kind"] == "item9"]
    assert flag["day"] == days_ago(4).isoformat() and "retracted" in flag["detail"]
    page = (await clinician.get(f"/clinician/patients/{pid}")).text
    assert "PHQ-9 item 9" in page and "Retracted by the patient" in page
    assert await item9_alerts_of(clinician, pid) == [days_ago(4).isoformat()]
    [point] = summary["phq9"]["series"]
    assert point["retracted_at"] is not None and point["item9"] == 1
    assert summary["phq9"]["latest"] is None  # counted for nothing else
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT answers, retracted_at FROM assessments WHERE id = $1", uuid.UUID(entry)
        )
    assert row["answers"] == WITH_ITEM9 and row["retracted_at"] is not None

    exported = await clinician.get(f"/api/v1/patients/{pid}/export.csv")
    [row_csv] = [r for r in csv.DictReader(io.StringIO(exported.text)) if r["id"] == entry]
    assert row_csv["retracted_at"] and row_csv["item9"] == "1"
    bundle = (await clinician.get(f"/api/v1/patients/{pid}/export.fhir")).json()
    [response] = [e["resource"] for e in bundle["entry"] if e["resource"]["id"] == entry]
    assert response["status"] == "completed"  # not entered-in-error: see domain/exports.py
    assert response["meta"]["tag"][0]["code"] == "retracted-by-patient"
    mine = (await patient.get("/api/v1/me/export")).json()["assessments"]
    assert [a["retracted_at"] is not None for a in mine] == [True]

    # A retraction is final too: the same answers again change nothing, other answers are
    # refused, and the patient's log still does not show it.
    assert (await patient.put(f"{URL}/{entry}", json=phq9_on(4, WITH_ITEM9))).status_code == 404
    refused = await patient.put(f"{URL}/{entry}", json=phq9_on(4, WITHOUT_ITEM9))
    assert refused.status_code == 409
    assert (await patient.get(URL)).json()["items"] == []


async def test_retracting_through_sync_keeps_the_flag(patient: Any, clinician: Any) -> None:
    await share(patient, clinician)
    pid, entry = patient.me["id"], new_id()
    await sync(patient, [upsert(entry, phq9_on(1, WITH_ITEM9), later(0))])
    retract = {"kind": "assessment", "id": entry, "op": "delete", "updated_at": later(1)}
    assert (await sync(patient, [retract]))["results"][0]["status"] == "applied"
    assert (await sync(patient, [retract]))["results"][0]["status"] == "unchanged"
    unknown = {**retract, "id": new_id()}  # never stored: nothing to retract
    assert (await sync(patient, [unknown]))["results"][0]["problem"]["status"] == 404
    [flag] = await item9_flags_seen_by(clinician, pid)
    assert "retracted" in flag["detail"]
    assert await item9_alerts_of(clinician, pid) == [days_ago(1).isoformat()]


async def test_a_retracted_baseline_is_no_baseline(patient: Any, clinician: Any) -> None:
    await share(patient, clinician)
    pid, baseline = patient.me["id"], new_id()
    answers = [3, 3, 3, 3, 2, 2, 2, 2, 0]  # 20
    assert (await patient.put(f"{URL}/{baseline}", json=phq9_on(20, answers))).status_code == 201
    await log_infusion(patient, days_ago(18))
    await log_assessment(patient, days_ago(2), "phq9", 4)
    phq9 = (await clinician.get(f"/api/v1/patients/{pid}/summary")).json()["phq9"]
    assert (phq9["baseline"], phq9["response"], phq9["remission"]) == (20, True, True)

    assert (await patient.delete(f"{URL}/{baseline}")).status_code == 204
    phq9 = (await clinician.get(f"/api/v1/patients/{pid}/summary")).json()["phq9"]
    assert phq9["baseline"] is None
    assert (phq9["response"], phq9["remission"]) == (None, None)
    assert [p["total"] for p in phq9["series"]] == [20, 4]  # still shown, marked


async def test_the_questionnaire_says_answers_are_final_before_finishing(patient: Any) -> None:
    page = await patient.get("/assess/phq9")
    assert page.status_code == 200
    assert 'id="final-note"' in page.text and "cannot be changed afterwards" in page.text
    history = await patient.get("/history")
    assert "A questionnaire cannot be changed" in history.text
