"""Questionnaires: instruments, scoring on store, and crisis resources for PHQ-9 item 9."""

from __future__ import annotations

from typing import Any

from server import db
from tests.helpers.log_entries import hours_ago, iso, new_id, patient_rows, phq9, snapshot

URL = "/api/v1/assessments"


async def test_instruments_are_public_and_complete(client_factory: Any) -> None:
    response = await client_factory().get("/api/v1/instruments")
    assert response.status_code == 200
    assert "public" in response.headers["cache-control"]
    instruments = {i["id"]: i for i in response.json()["instruments"]}
    assert set(instruments) == {"phq9", "gad7"}
    phq, gad = instruments["phq9"], instruments["gad7"]
    assert len(phq["items"]) == 9 and len(gad["items"]) == 7
    assert [o["value"] for o in phq["options"]] == [0, 1, 2, 3]
    assert phq["options"][3]["label"] == "Nearly every day"
    assert [(b["id"], b["min"], b["max"]) for b in phq["bands"]] == [
        ("minimal", 0, 4),
        ("mild", 5, 9),
        ("moderate", 10, 14),
        ("moderately_severe", 15, 19),
        ("severe", 20, 27),
    ]
    assert [(b["min"], b["max"]) for b in gad["bands"]] == [(0, 4), (5, 9), (10, 14), (15, 21)]


async def test_phq9_is_scored_and_stored_with_its_answers(patient: Any, pool: db.Pool) -> None:
    entry = new_id()
    answers = [2, 2, 2, 2, 2, 1, 1, 0, 0]  # 12: moderate
    response = await patient.put(f"{URL}/{entry}", json=phq9(answers))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["total"], body["band"], body["band_label"]) == (12, "moderate", "Moderate")
    assert "safety" not in body

    [row] = await patient_rows(pool, "assessments", patient.me["id"])
    assert row["answers"] == answers and row["total"] == 12 and row["band"] == "moderate"
    assert sum(row["answers"]) == row["total"]  # the total can always be recomputed

    again = await patient.put(f"{URL}/{entry}", json=phq9(answers, taken_at=body["taken_at"]))
    # No updated_at: the server's clock makes it a newer change of the same content.
    assert again.status_code == 200 and again.json()["total"] == 12
    fixed = phq9(answers, taken_at=body["taken_at"], updated_at=iso(hours_ago(-0.1)))
    assert (await patient.put(f"{URL}/{entry}", json=fixed)).status_code == 200
    before = await snapshot(pool)
    assert (await patient.put(f"{URL}/{entry}", json=fixed)).status_code == 200
    assert await snapshot(pool) == before
    assert len(await patient_rows(pool, "assessments", patient.me["id"])) == 1


async def test_item9_answers_with_crisis_resources_at_once(patient: Any) -> None:
    for item9 in (1, 2, 3):
        response = await patient.put(
            f"{URL}/{new_id()}", json=phq9([0, 0, 0, 0, 0, 0, 0, 0, item9])
        )
        assert response.status_code == 201
        safety = response.json()["safety"]
        assert "not monitored around the clock" in safety["message"]
        hrefs = [r["href"] for r in safety["resources"]]
        assert hrefs == ["tel:988", "sms:988", "tel:911", "tel:+15550100"]  # clinic from settings
        fetched = await patient.get(f"{URL}/{response.json()['id']}")
        assert fetched.json()["safety"] == safety


async def test_patients_own_clinic_phone_wins(patient: Any) -> None:
    patched = await patient.patch("/api/v1/me", json={"clinic_phone": "+1 (555) 010-0999"})
    assert patched.status_code == 200
    response = await patient.put(f"{URL}/{new_id()}", json=phq9([0] * 8 + [1]))
    safety = response.json()["safety"]
    assert safety["resources"][-1]["href"] == "tel:+15550100999"
    assert "+1 (555) 010-0999" in safety["resources"][-1]["action"]


async def test_gad7_and_filters(patient: Any) -> None:
    gad = {"instrument": "gad7", "answers": [3, 3, 3, 3, 3, 0, 0], "taken_at": iso(hours_ago(5))}
    response = await patient.put(f"{URL}/{new_id()}", json=gad)
    assert response.status_code == 201
    assert (response.json()["total"], response.json()["band"]) == (15, "severe")
    assert "safety" not in response.json()
    phq = await patient.put(f"{URL}/{new_id()}", json=phq9(taken_at=iso(hours_ago(1))))

    everything = (await patient.get(URL)).json()["items"]
    assert [a["instrument"] for a in everything] == ["phq9", "gad7"]  # newest first
    only_phq = (await patient.get(URL, params={"instrument": "phq9"})).json()["items"]
    assert [a["id"] for a in only_phq] == [phq.json()["id"]]
    old = (await patient.get(URL, params={"from": "2020-01-01", "to": "2020-12-31"})).json()
    assert old["items"] == []


async def test_delete_assessment(patient: Any) -> None:
    entry = new_id()
    await patient.put(f"{URL}/{entry}", json=phq9())
    assert (await patient.delete(f"{URL}/{entry}")).status_code == 204
    assert (await patient.get(f"{URL}/{entry}")).status_code == 404
    assert (await patient.get(URL)).json()["items"] == []
