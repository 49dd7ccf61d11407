"""What the summary and the clinician's list judge (issue 13): response and remission only
against an eligible baseline, relapse, mood drop, a persisting severe side effect and an
overdue PHQ-9 as flags, and item-9 flags never cut from the printed page."""

from __future__ import annotations

from typing import Any

from tests.helpers.sharing import days_ago, log_assessment, log_checkin, log_infusion, share

NO_BASELINE = "— no baseline PHQ-9 before the first infusion"


async def summary_of(clinician: Any, patient: Any) -> Any:
    response = await clinician.get(f"/api/v1/patients/{patient.me['id']}/summary")
    assert response.status_code == 200, response.text
    return response.json()


async def list_line(clinician: Any, patient: Any) -> Any:
    response = await clinician.get("/api/v1/clinician/patients")
    assert response.status_code == 200, response.text
    [line] = [r for r in response.json()["items"] if r["patient"]["id"] == patient.me["id"]]
    return line


def flagged(flags: list[dict[str, Any]], kind: str) -> list[str]:
    return [f["day"] for f in flags if f["kind"] == kind]


async def test_a_newcomer_with_a_low_phq9_is_not_in_remission(patient: Any, clinician: Any) -> None:
    await log_assessment(patient, days_ago(1), "phq9", 3)
    await share(patient, clinician)
    phq9 = (await summary_of(clinician, patient))["phq9"]
    assert (phq9["latest"], phq9["response"], phq9["remission"]) == (3, None, None)
    assert phq9["verdict_note"] == "no baseline PHQ-9 before the first infusion"
    line = await list_line(clinician, patient)
    assert (line["phq9"]["response"], line["phq9"]["remission"], line["trend"]) == (
        None,
        None,
        None,
    )
    page = (await clinician.get(f"/clinician/patients/{patient.me['id']}")).text
    assert f"Remission (latest PHQ-9 &lt; 5)</dt><dd><strong>{NO_BASELINE}" in page
    assert f"Response (latest PHQ-9 ≤ 50% of baseline)</dt><dd><strong>{NO_BASELINE}" in page
    assert "<strong>No</strong>" not in page


async def test_a_baseline_older_than_30_days_before_the_first_infusion_allows_no_verdict(
    patient: Any, clinician: Any
) -> None:
    await log_assessment(patient, days_ago(50), "phq9", 20)
    await log_infusion(patient, days_ago(15))
    await log_assessment(patient, days_ago(2), "phq9", 4)
    await share(patient, clinician)
    phq9 = (await summary_of(clinician, patient))["phq9"]
    assert (phq9["baseline"], phq9["response"], phq9["remission"]) == (None, None, None)
    assert "more than 30 days before it" in phq9["baseline_note"]
    assert NO_BASELINE in (await clinician.get(f"/clinician/patients/{patient.me['id']}")).text


async def test_a_baseline_under_10_allows_no_verdict(patient: Any, clinician: Any) -> None:
    await log_assessment(patient, days_ago(12), "phq9", 8)
    await log_infusion(patient, days_ago(10))
    await log_assessment(patient, days_ago(2), "phq9", 2)
    await share(patient, clinician)
    phq9 = (await summary_of(clinician, patient))["phq9"]
    assert (phq9["baseline"], phq9["change_pct"]) == (8, -75.0)
    assert (phq9["response"], phq9["remission"]) == (None, None)
    assert phq9["verdict_note"] == "baseline PHQ-9 below 10"


async def test_partial_response_is_on_the_summary_as_on_the_list(
    patient: Any, clinician: Any
) -> None:
    await log_assessment(patient, days_ago(12), "phq9", 20)
    await log_infusion(patient, days_ago(10))
    await log_assessment(patient, days_ago(2), "phq9", 14)  # 30% down
    await share(patient, clinician)
    summary = await summary_of(clinician, patient)
    assert summary["trend"] == "partial response"
    assert summary["phq9"]["partial_response"] is True and summary["phq9"]["response"] is False
    assert (await list_line(clinician, patient))["trend"] == "partial response"
    page = (await clinician.get(f"/clinician/patients/{patient.me['id']}")).text
    assert "Partial response" in page


async def test_phq9_rising_3_6_9_12_after_remission_flags_relapse_at_9(
    patient: Any, clinician: Any
) -> None:
    # Eligible baseline (20, three days before the first infusion), remission at 3 before the
    # list's 28 days, then 6 (+3: not yet), 9 (+6 from the best: relapse), 12.
    await log_assessment(patient, days_ago(48), "phq9", 20)
    await log_infusion(patient, days_ago(45))
    for back, total in ((35, 3), (20, 6), (13, 9), (6, 12)):
        await log_assessment(patient, days_ago(back), "phq9", total)
    await share(patient, clinician)

    summary = await summary_of(clinician, patient)
    assert flagged(summary["flags"], "relapse") == [
        days_ago(6).isoformat(),
        days_ago(13).isoformat(),
    ]
    [at_9] = [f for f in summary["flags"] if f["day"] == days_ago(13).isoformat()]
    assert "6 above the lowest since treatment (3)" in at_9["detail"]
    assert summary["phq9"]["relapse"] is True and summary["trend"] == "relapse"
    page = (await clinician.get(f"/clinician/patients/{patient.me['id']}")).text
    assert "Relapse" in page

    # The list reads the PHQ-9s before its window as their lowest only, and finds the same.
    line = await list_line(clinician, patient)
    assert flagged(line["flags"], "relapse") == [days_ago(6).isoformat(), days_ago(13).isoformat()]
    assert line["trend"] == "relapse"


async def test_mood_falling_for_a_week_is_a_mood_drop_on_the_summary_and_the_list(
    patient: Any, clinician: Any
) -> None:
    for back in range(45, 7, -1):
        await log_checkin(patient, days_ago(back), 7)
    for back in range(7, 0, -1):
        await log_checkin(patient, days_ago(back), 3)
    await share(patient, clinician)
    # The week's mean falls 2 below the 4 weeks before it on the 4th day at 3.
    day = days_ago(4).isoformat()
    assert flagged((await summary_of(clinician, patient))["flags"], "mood_drop") == [day]
    assert flagged((await list_line(clinician, patient))["flags"], "mood_drop") == [day]


async def test_a_severe_side_effect_days_after_an_infusion_persists(
    patient: Any, clinician: Any
) -> None:
    await log_infusion(patient, days_ago(6))
    await log_checkin(patient, days_ago(6), 5, [("nausea", 3)])  # the day of the infusion
    await log_checkin(patient, days_ago(3), 5, [("headache", 3)])  # three days after
    await share(patient, clinician)
    expected = [days_ago(3).isoformat()]
    assert flagged((await summary_of(clinician, patient))["flags"], "persisting_severe_effect") == (
        expected
    )
    line = await list_line(clinician, patient)
    assert flagged(line["flags"], "persisting_severe_effect") == expected


async def test_phq9_overdue_during_a_course(patient: Any, clinician: Any) -> None:
    await log_assessment(patient, days_ago(30), "phq9", 16)
    await log_infusion(patient, days_ago(28))
    await share(patient, clinician)
    today = days_ago(0).isoformat()
    summary = await summary_of(clinician, patient)
    [overdue] = [f for f in summary["flags"] if f["kind"] == "phq9_overdue"]
    assert overdue["day"] == today and "30 days ago" in overdue["detail"]
    assert flagged((await list_line(clinician, patient))["flags"], "phq9_overdue") == [today]


async def test_item9_flags_are_pinned_and_never_cut_from_the_printed_page(
    patient: Any, clinician: Any
) -> None:
    await log_assessment(patient, days_ago(25), "phq9", 12, item9=1)
    for back in range(24, 0, -1):  # a newer flag every day, more than the page prints
        await log_checkin(patient, days_ago(back), 5, [("nausea", 3)])
    await share(patient, clinician)
    flags = (await summary_of(clinician, patient))["flags"]
    assert flags[0]["kind"] == "item9" and flags[0]["day"] == days_ago(25).isoformat()
    page = (await clinician.get(f"/clinician/patients/{patient.me['id']}")).text
    assert page.count('class="flag-item flag-item9"') == 1
    assert page.count('class="flag-item ') == 12  # the item-9 flag and 11 others
    assert "earlier flags in this range" in page
    line = await list_line(clinician, patient)
    assert line["flags"][0]["kind"] == "item9"


async def test_a_relapse_is_found_when_the_phq9_is_written_and_raises_an_alert(
    patient: Any, clinician: Any
) -> None:
    await share(patient, clinician)
    await log_assessment(patient, days_ago(48), "phq9", 20)
    await log_infusion(patient, days_ago(45))
    for back, total in ((35, 3), (20, 6), (13, 9), (6, 12)):
        await log_assessment(patient, days_ago(back), "phq9", total)
    response = await clinician.get("/api/v1/clinician/alerts", params={"state": "all"})
    assert response.status_code == 200, response.text
    relapses = [a["day"] for a in response.json() if a["kind"] == "relapse"]
    assert relapses == [days_ago(6).isoformat(), days_ago(13).isoformat()]  # newest first
