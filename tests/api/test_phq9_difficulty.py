"""PHQ-9 item 10 (issue 13): an optional, unscored ``difficulty`` (0–3) beside the nine answers,
stored, read back, synced and exported (CSV column, FHIR item LOINC 69722-7). A PHQ-9 without
it stays valid, and the GAD-7, which does not ask it, refuses it."""

from __future__ import annotations

import csv
import io
from typing import Any

from server import db
from tests.helpers.log_entries import hours_ago, iso, new_id, patient_rows, phq9

URL = "/api/v1/assessments"
ANSWERS = [1, 1, 1, 1, 1, 0, 0, 0, 0]


async def test_difficulty_is_stored_read_back_and_never_scored(patient: Any, pool: db.Pool) -> None:
    entry = new_id()
    response = await patient.put(f"{URL}/{entry}", json=phq9(ANSWERS, difficulty=2))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["difficulty"] == 2 and body["total"] == 5 and body["answers"] == ANSWERS
    [row] = await patient_rows(pool, "assessments", patient.me["id"])
    assert row["difficulty"] == 2 and row["total"] == 5

    listed = (await patient.get(URL)).json()
    [item] = listed["items"] if isinstance(listed, dict) else listed
    assert item["difficulty"] == 2
    # A questionnaire is final: the same answers with another difficulty are a change.
    changed = phq9(ANSWERS, taken_at=body["taken_at"], difficulty=3)
    assert (await patient.put(f"{URL}/{entry}", json=changed)).status_code == 409


async def test_nine_answers_without_it_stay_valid(patient: Any, pool: db.Pool) -> None:
    response = await patient.put(f"{URL}/{new_id()}", json=phq9(ANSWERS))
    assert response.status_code == 201, response.text
    assert "difficulty" not in response.json()
    [row] = await patient_rows(pool, "assessments", patient.me["id"])
    assert row["difficulty"] is None


async def test_out_of_range_and_gad7_difficulty_are_refused(patient: Any) -> None:
    for bad in (4, -1, "2", True):
        response = await patient.put(f"{URL}/{new_id()}", json=phq9(ANSWERS, difficulty=bad))
        assert response.status_code == 400, (bad, response.text)
        assert "difficulty" in response.text
    gad7 = {"instrument": "gad7", "answers": [1] * 7, "taken_at": iso(hours_ago(1))}
    response = await patient.put(f"{URL}/{new_id()}", json={**gad7, "difficulty": 1})
    assert response.status_code == 400, response.text
    assert "difficulty" in response.text
    assert (await patient.put(f"{URL}/{new_id()}", json=gad7)).status_code == 201


async def test_sync_carries_it_and_replays_of_old_outboxes_are_unchanged(patient: Any) -> None:
    with_it, without = new_id(), new_id()
    stored = await patient.put(f"{URL}/{without}", json=phq9(ANSWERS))
    assert stored.status_code == 201
    at = iso(hours_ago(0.5))

    def upsert(entry: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "assessment", "id": entry, "op": "upsert", "updated_at": at, "data": data}

    body = {
        "changes": [
            upsert(with_it, phq9(ANSWERS, difficulty=1)),
            # A nine-answer change queued offline before item 10 existed, sent again.
            upsert(without, phq9(ANSWERS, taken_at=stored.json()["taken_at"])),
        ],
        "since": None,
    }
    response = await patient.post("/api/v1/sync", json=body)
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first["status"] == "applied", first
    assert second["status"] == "unchanged", second
    fed = {c["id"]: c["data"] for c in response.json()["changes"] if c["data"]}
    assert fed[with_it]["difficulty"] == 1
    assert fed[without].get("difficulty") is None


async def test_exports_carry_it_as_a_column_and_loinc_69722_7(patient: Any) -> None:
    await patient.put(f"{URL}/{new_id()}", json=phq9(ANSWERS, difficulty=3))
    await patient.put(f"{URL}/{new_id()}", json=phq9(ANSWERS, taken_at=iso(hours_ago(5))))
    me = patient.me["id"]
    exported = await patient.get(f"/api/v1/patients/{me}/export.csv")
    assert exported.status_code == 200, exported.text
    rows = [r for r in csv.DictReader(io.StringIO(exported.text)) if r["kind"] == "assessment"]
    assert sorted(r["difficulty"] for r in rows) == ["", "3"]

    bundle = (await patient.get(f"/api/v1/patients/{me}/export.fhir")).json()
    responses = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    ]
    items = [[i for i in r["item"] if i["linkId"] == "69722-7"] for r in responses]
    assert sorted(len(found) for found in items) == [0, 1]
    [[item10]] = [found for found in items if found]
    assert item10["answer"] == [
        {
            "valueCoding": {
                "system": "http://loinc.org",
                "code": "LA6574-3",
                "display": "Extremely difficult",
            }
        }
    ]
    assert item10["text"].startswith("If you checked off any problems")


async def test_instruments_show_item_10_and_their_attribution(client_factory: Any) -> None:
    body = (await client_factory().get("/api/v1/instruments")).json()
    instruments = {i["id"]: i for i in body["instruments"]}
    for instrument in instruments.values():
        assert instrument["attribution"] == (
            "PHQ-9 and GAD-7: developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt "
            "Kroenke and colleagues, with an educational grant from Pfizer Inc. No permission "
            "required to reproduce, translate, display or distribute."
        )
    item10 = instruments["phq9"]["difficulty"]
    assert item10["loinc"] == "69722-7"
    assert [o["label"] for o in item10["options"]] == [
        "Not difficult at all",
        "Somewhat difficult",
        "Very difficult",
        "Extremely difficult",
    ]
    assert instruments["gad7"].get("difficulty") is None
