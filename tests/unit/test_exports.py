"""Exports: the CSV's columns and its guard against spreadsheet formulas; FHIR R4 validity; the
files' names."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest
from fhir.resources.R4B.bundle import Bundle

from server.domain.accounts import User
from server.domain.exports import CSV_COLUMNS, export_csv, export_filename, fhir_bundle
from server.domain.records import Assessment, CheckIn, Infusion, SideEffect

NOW = datetime(2025, 3, 10, 18, tzinfo=UTC)
PATIENT = User(
    id=uuid4(),
    email="p@example.org",
    role="patient",
    display_name="Pat",
    timezone="Europe/Berlin",
    created_at=NOW,
)


def _checkin(note: str | None = None) -> CheckIn:
    return CheckIn(
        id=uuid4(),
        patient_id=PATIENT.id,
        recorded_at=NOW,
        local_day=date(2025, 3, 10),
        mood=6,
        sleep_hours=7.5,
        note=note,
        side_effects=(SideEffect("nausea", 2), SideEffect("other", 1, "tingling, left arm")),
        updated_at=NOW,
    )


def _phq9(item9: int) -> Assessment:
    return Assessment(
        id=uuid4(),
        patient_id=PATIENT.id,
        instrument="phq9",
        answers=(1, 1, 1, 1, 1, 1, 1, 1, item9),
        total=8 + item9,
        band="mild",
        taken_at=NOW,
        local_day=date(2025, 3, 10),
        updated_at=NOW,
    )


def _infusion(status: str) -> Infusion:
    return Infusion(
        id=uuid4(),
        patient_id=PATIENT.id,
        scheduled_at=NOW,
        local_day=date(2025, 3, 10),
        duration_minutes=40,
        status=status,  # type: ignore[arg-type]
        updated_at=NOW,
    )


def test_csv_columns_and_values() -> None:
    text = export_csv([_checkin("=HYPERLINK(1)")], [_phq9(2)], [_infusion("planned")], PATIENT.zone)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    by_kind = {r["kind"]: r for r in rows}
    c = by_kind["checkin"]
    assert c["time"] == "2025-03-10T19:00:00+01:00"  # the patient's offset
    assert (c["mood"], c["sleep_hours"]) == ("6", "7.5")
    assert c["side_effects"] == "nausea:2; other:1:tingling, left arm"
    assert c["note"] == "'=HYPERLINK(1)"  # never run as a formula
    a = by_kind["assessment"]
    assert (a["instrument"], a["answers"], a["total"], a["item9"]) == (
        "phq9",
        "1 1 1 1 1 1 1 1 2",
        "10",
        "2",
    )
    assert (by_kind["infusion"]["status"], by_kind["infusion"]["duration_minutes"]) == (
        "planned",
        "40",
    )


@pytest.mark.parametrize(
    ("note", "exported"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("  =1", "  '=1"),
        ('hello;=HYPERLINK("http://evil.example")', 'hello;\'=HYPERLINK("http://evil.example")'),
        ("a,b, +c", "a,b, '+c"),
        ("two lines\n@x", "two lines\n'@x"),
        ("a;;-b", "a;;'-b"),
        ("1+1=2, said I; fine", "1+1=2, said I; fine"),
        ("e-mail me @ noon", "e-mail me @ noon"),
    ],
)
def test_no_cell_and_no_part_of_one_starts_a_formula(note: str, exported: str) -> None:
    text = export_csv([_checkin(note)], [], [], PATIENT.zone)
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["note"] == exported
    for cell in row.values():
        for part in re.split(r"[;,\r\n]", cell):
            assert not part.lstrip(" ").startswith(("=", "+", "-", "@", "\t")), cell


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Pat", "afterglow-P-2025-03-10.csv"),
        ("  zoë   ñuñez ", "afterglow-ZÑ-2025-03-10.csv"),
        ("Maria de la Cruz", "afterglow-MDL-2025-03-10.csv"),
        ("🌅 Sam", "afterglow-S-2025-03-10.csv"),
        ('"; rm -rf', "afterglow-R-2025-03-10.csv"),
        ("🌅", "afterglow-2025-03-10.csv"),
    ],
)
def test_export_files_are_named_by_initials_and_day(name: str, expected: str) -> None:
    assert export_filename(name, date(2025, 3, 10), "csv") == expected


def test_an_empty_export_is_just_the_header() -> None:
    assert export_csv([], [], [], PATIENT.zone) == ",".join(CSV_COLUMNS) + "\r\n"
    Bundle.model_validate(fhir_bundle(PATIENT, [], [], [], base_url="https://x.test", now=NOW))


def test_fhir_bundle_validates_for_every_kind_of_entry() -> None:
    document = fhir_bundle(
        PATIENT,
        [_checkin("fine")],
        [_phq9(0), _phq9(3)],
        [_infusion("completed"), _infusion("cancelled"), _infusion("planned")],
        base_url="https://clinic.example",
        now=NOW,
    )
    bundle = Bundle.model_validate(document)
    assert len(bundle.entry) == 1 + 2 * 3 + 1 + 3
    ids = [e["resource"]["id"] for e in document["entry"]]
    assert len(set(ids)) == len(ids)
    assert document["entry"][0]["resource"]["resourceType"] == "Patient"
    statuses = [
        (e["resource"]["resourceType"], e["resource"]["status"])
        for e in document["entry"]
        if e["resource"]["resourceType"] in ("Procedure", "Appointment")
    ]
    # A session not given is an Appointment, never a Procedure (issue 16).
    assert statuses == [
        ("Procedure", "completed"),
        ("Appointment", "cancelled"),
        ("Appointment", "booked"),
    ]
