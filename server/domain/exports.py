"""Exports of a patient's log: CSV for a spreadsheet, and a FHIR R4 Bundle for a health record.

CSV: one row per entry (check-in, assessment, infusion), oldest first, with the columns in
``CSV_COLUMNS``:

    kind              checkin | assessment | infusion
    id                the entry's UUID
    local_day         YYYY-MM-DD in the patient's time zone
    time              ISO 8601 with the patient's UTC offset (recorded, taken or scheduled)
    mood, anxiety, energy   check-in ratings 0–10 (mood: 0 worst, 10 best)
    sleep_hours       check-in hours of sleep
    side_effects      check-in side effects as code:severity (1 mild, 2 moderate, 3 severe),
                      separated by "; " ("other" adds its text: other:1:text)
    instrument        assessment: phq9 | gad7
    answers           assessment answers, item by item, separated by spaces
    total, band       assessment total score and severity band
    item9             PHQ-9 item 9 (thoughts of death or self-harm), 0–3
    difficulty        PHQ-9 item 10 (how difficult the problems made daily life), 0–3, never
                      scored; empty when not answered
    status            infusion: planned | completed | cancelled
    duration_minutes  infusion length
    note              the check-in's note or the infusion's notes
    retracted_at      assessment: when the patient retracted it (ISO 8601), else empty; only a
                      clinician's export holds retracted ones

Text that a spreadsheet would run as a formula (= + - @ tab or CR at the start of a cell, or
after a ; or , inside one) gets a ' before it, which the spreadsheet does not show.

The files are named ``afterglow-<initials>-<YYYY-MM-DD>``: ``export_filename``.

FHIR: a Bundle of type collection holding the Patient; a QuestionnaireResponse per PHQ-9
(LOINC 44249-1) and GAD-7 (69737-5) with LOINC item and answer codes (PHQ-9 item 10, when
answered, as item 69722-7 with the answer list LL359-1); an Observation of each
total (44261-6, 70274-6) and of PHQ-9 item 9 (44260-8), each ``derivedFrom`` its response; an
Observation per check-in (mood, with anxiety, energy, sleep and side effects as components);
and each session as server/domain/fhir_sessions.py says (a Procedure with its
MedicationAdministration and vital signs once given, an Appointment while planned). Ids are
stable: an entry's own UUID, or a UUID derived from it.

A questionnaire the patient retracted keeps its status (``completed``, its Observations
``final``) and carries a tag, ``retracted-by-patient`` in this deployment's
``/fhir/CodeSystem/entry-status``, with a note on each Observation saying when. Not
``entered-in-error``: FHIR defines that as a record that should not have existed, and a receiving
record system hides such resources, so an item-9 answer the patient took back would vanish from
the chart there, which is what retraction must not do (issue 13). The patient did answer it; the
retraction is their statement about it, and the tag says so without voiding it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from server.domain.accounts import User
from server.domain.chair import SessionRecord
from server.domain.courses import Drug
from server.domain.fhir_sessions import session_resources
from server.domain.instruments import GAD7, PHQ9, PHQ9_ITEM9_LOINC, Instrument, in_language
from server.domain.records import Assessment, CheckIn, Infusion
from server.i18n import N_, gettext

# QuestionnaireResponse.language (BCP 47): the published version for the US the patient saw.
RESPONSE_LANGUAGES = {"en": "en-US", "es": "es-US"}
CSV_COLUMNS = (
    "kind",
    "id",
    "local_day",
    "time",
    "mood",
    "anxiety",
    "energy",
    "sleep_hours",
    "side_effects",
    "instrument",
    "answers",
    "total",
    "band",
    "item9",
    "difficulty",
    "status",
    "duration_minutes",
    "note",
    "retracted_at",
)
# Each column's heading, for a reader of another language than English.
CSV_HEADINGS = {
    "kind": N_("kind"),
    "id": "id",
    "local_day": N_("local_day"),
    "time": N_("time"),
    "mood": N_("mood"),
    "anxiety": N_("anxiety"),
    "energy": N_("energy"),
    "sleep_hours": N_("sleep_hours"),
    "side_effects": N_("side_effects"),
    "instrument": N_("instrument"),
    "answers": N_("answers"),
    "total": N_("total"),
    "band": N_("band"),
    "item9": N_("item9"),
    "difficulty": N_("difficulty"),
    "status": N_("status"),
    "duration_minutes": N_("duration_minutes"),
    "note": N_("note"),
    "retracted_at": N_("retracted_at"),
}
# A spreadsheet runs a cell as a formula when it starts with one of = + - @ (tab and CR too, in
# some); and one that splits on ";" or "," (a European Excel opening our CSV), or a reader that
# splits lines naively, starts new cells inside a text. So a ' goes before such a character at
# the start of a cell and after each separator (OWASP, "CSV Injection"); a spreadsheet hides a
# leading ' and shows the text as typed.
_FORMULA = re.compile(r"(^|[;,\r\n])( *)(?=[=+\-@\t\r])")


def _cell(value: str) -> str:
    return _FORMULA.sub(r"\1\2'", value)


def _text(value: str | None) -> str:
    return value or ""


def _time(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).isoformat()


def _num(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}"


def export_csv(
    checkins: Sequence[CheckIn],
    assessments: Sequence[Assessment],
    infusions: Sequence[Infusion],
    zone: ZoneInfo,
    language: str = "en",
) -> str:
    """One row per entry, the heading row in the reader's ``language``."""
    rows: list[tuple[datetime, dict[str, str]]] = []
    for c in checkins:
        effects = "; ".join(
            f"{e.code}:{e.severity}" + (f":{e.text}" if e.text else "") for e in c.side_effects
        )
        rows.append(
            (
                c.recorded_at,
                {
                    "kind": "checkin",
                    "id": str(c.id),
                    "local_day": c.local_day.isoformat(),
                    "time": c.recorded_at.astimezone(zone).isoformat(),
                    "mood": _num(c.mood),
                    "anxiety": _num(c.anxiety),
                    "energy": _num(c.energy),
                    "sleep_hours": _num(c.sleep_hours),
                    "side_effects": _text(effects),
                    "note": _text(c.note),
                },
            )
        )
    for a in assessments:
        rows.append(
            (
                a.taken_at,
                {
                    "kind": "assessment",
                    "id": str(a.id),
                    "local_day": a.local_day.isoformat(),
                    "time": a.taken_at.astimezone(zone).isoformat(),
                    "instrument": a.instrument,
                    "answers": " ".join(str(x) for x in a.answers),
                    "total": str(a.total),
                    "band": a.band,
                    "item9": _num(a.item9),
                    "difficulty": _num(a.difficulty),
                    "retracted_at": _time(a.retracted_at, zone),
                },
            )
        )
    for i in infusions:
        rows.append(
            (
                i.scheduled_at,
                {
                    "kind": "infusion",
                    "id": str(i.id),
                    "local_day": i.local_day.isoformat(),
                    "time": i.scheduled_at.astimezone(zone).isoformat(),
                    "status": i.status,
                    "duration_minutes": str(i.duration_minutes),
                    "note": _text(i.notes),
                },
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]["kind"], r[1]["id"]))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, restval="", lineterminator="\r\n")
    # The heading row in the reader's language; the cells (codes, ids, times) in none.
    writer.writerow({name: gettext(language, CSV_HEADINGS[name]) for name in CSV_COLUMNS})
    # Every cell, not only the free text: no column can be forgotten. Ours are never negative
    # numbers, so no number is turned into text.
    writer.writerows({name: _cell(cell) for name, cell in row.items()} for _, row in rows)
    return out.getvalue()


def export_filename(display_name: str, day: date, extension: str) -> str:
    """``afterglow-<initials>-<day>.<extension>``. Initials tell a clinician's downloads apart;
    a full name beside the app's name in a download list or a mail attachment would tell
    whoever sees it that this person is in ketamine treatment. Nothing health-related."""
    initials = "".join(word[0] for word in display_name.split() if word[0].isalpha())[:3]
    parts = ("afterglow", initials.upper(), day.isoformat())
    return "-".join(part for part in parts if part) + "." + extension


# --- FHIR R4 ---------------------------------------------------------------------------------

LOINC = "http://loinc.org"
SURVEY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey",
            "display": "Survey",
        }
    ]
}
ANSWER_CODES = (  # the LOINC answer list LL358-3, shared by PHQ-9 and GAD-7
    ("LA6568-5", "Not at all"),
    ("LA6569-3", "Several days"),
    ("LA6570-1", "More than half the days"),
    ("LA6571-9", "Nearly every day"),
)
ITEM_CODES = {
    PHQ9.id: (
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        PHQ9_ITEM9_LOINC,
    ),
    GAD7.id: ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"),
}
# PHQ-9 item 10, the LOINC answer list LL359-1.
DIFFICULTY_CODES = (
    ("LA6572-7", "Not difficult at all"),
    ("LA6573-5", "Somewhat difficult"),
    ("LA6575-0", "Very difficult"),
    ("LA6574-3", "Extremely difficult"),
)
INSTRUMENTS = {PHQ9.id: PHQ9, GAD7.id: GAD7}
_SLEEP_LOINC = "93832-4"  # Sleep duration


def _urn(value: UUID) -> str:
    return f"urn:uuid:{value}"


def _derived(entry_id: UUID, what: str) -> UUID:
    """A stable id for a resource derived from an entry (an assessment's total, ...)."""
    return uuid5(entry_id, what)


def _code(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _answer(value: int) -> dict[str, Any]:
    code, display = ANSWER_CODES[value]
    return {"system": LOINC, "code": code, "display": display}


def _assessment_resources(
    a: Assessment, subject: dict[str, str], zone: ZoneInfo, base_url: str
) -> list[dict[str, Any]]:
    # The questions as the patient read them: the published version of their language.
    shown_in = a.language or "en"
    instrument: Instrument = in_language(INSTRUMENTS[a.instrument], shown_in)
    codes = ITEM_CODES[a.instrument]
    taken = a.taken_at.astimezone(zone).isoformat()
    response_ref = {"reference": _urn(a.id)}
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": str(a.id),
        "language": RESPONSE_LANGUAGES[shown_in],
        "questionnaire": f"{LOINC}/q/{instrument.loinc_panel}",
        "status": "completed",
        "subject": subject,
        "authored": taken,
        "item": [
            {
                "linkId": codes[n],
                "text": item.text,
                "answer": [{"valueCoding": _answer(a.answers[n])}],
            }
            for n, item in enumerate(instrument.items)
        ],
    }
    if a.difficulty is not None and instrument.difficulty is not None:
        code, display = DIFFICULTY_CODES[a.difficulty]
        items: list[dict[str, Any]] = response["item"]  # type: ignore[assignment]
        items.append(
            {
                "linkId": instrument.difficulty.loinc,
                "text": instrument.difficulty.text,
                "answer": [{"valueCoding": {"system": LOINC, "code": code, "display": display}}],
            }
        )
    total = {
        "resourceType": "Observation",
        "id": str(_derived(a.id, "total")),
        "status": "final",
        "category": [SURVEY],
        "code": _code(LOINC, instrument.loinc_total, f"{instrument.name} total score"),
        "subject": subject,
        "effectiveDateTime": taken,
        "valueInteger": a.total,
        "derivedFrom": [response_ref],
    }
    resources: list[dict[str, Any]] = [response, total]
    if a.item9 is not None:
        resources.append(
            {
                "resourceType": "Observation",
                "id": str(_derived(a.id, "item9")),
                "status": "final",
                "category": [SURVEY],
                "code": _code(
                    LOINC,
                    PHQ9_ITEM9_LOINC,
                    "Thoughts that you would be better off dead, or of hurting yourself",
                ),
                "subject": subject,
                "effectiveDateTime": taken,
                "valueCodeableConcept": {"coding": [_answer(a.item9)]},
                "derivedFrom": [response_ref],
            }
        )
    if a.retracted_at is not None:
        _mark_retracted(resources, a.retracted_at.astimezone(zone), base_url)
    return resources


def _mark_retracted(resources: list[dict[str, Any]], at: datetime, base_url: str) -> None:
    tag = {
        "system": f"{base_url}/fhir/CodeSystem/entry-status",
        "code": "retracted-by-patient",
        "display": "Retracted by the patient",
    }
    note = f"Retracted by the patient on {at.isoformat()}; kept because it was answered."
    for resource in resources:
        resource["meta"] = {"tag": [tag]}
        if resource["resourceType"] == "Observation":
            resource["note"] = [{"text": note}]


def _checkin_resource(
    c: CheckIn, subject: dict[str, str], zone: ZoneInfo, system: str
) -> dict[str, Any]:
    components: list[dict[str, Any]] = []
    for name, value in (("anxiety", c.anxiety), ("energy", c.energy)):
        if value is not None:
            components.append(
                {"code": _code(system, name, f"{name.title()} (0–10)"), "valueInteger": value}
            )
    if c.sleep_hours is not None:
        components.append(
            {
                "code": _code(LOINC, _SLEEP_LOINC, "Sleep duration"),
                "valueQuantity": {
                    "value": c.sleep_hours,
                    "unit": "h",
                    "system": "http://unitsofmeasure.org",
                    "code": "h",
                },
            }
        )
    for effect in c.side_effects:
        component: dict[str, Any] = {
            "code": _code(system, f"side-effect-{effect.code}", effect.code.replace("_", " ")),
            "valueInteger": effect.severity,
        }
        if effect.text:
            component["code"]["text"] = effect.text
        components.append(component)
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(c.id),
        "status": "final",
        "category": [SURVEY],
        "code": _code(system, "mood", "Mood (0 worst – 10 best)"),
        "subject": subject,
        "effectiveDateTime": c.recorded_at.astimezone(zone).isoformat(),
        "valueInteger": c.mood,
    }
    if components:
        resource["component"] = components
    if c.note:
        resource["note"] = [{"text": c.note}]
    return resource


def fhir_bundle(
    patient: User,
    checkins: Sequence[CheckIn],
    assessments: Sequence[Assessment],
    infusions: Sequence[Infusion],
    *,
    base_url: str,
    now: datetime,
    records: Mapping[UUID, SessionRecord] | None = None,
    drugs: Mapping[UUID, Drug] | None = None,
) -> dict[str, Any]:
    """``base_url`` names this deployment's code system for check-in items (no standard codes
    exist for a 0–10 mood rating). ``records`` (chair records) and ``drugs`` (of each session's
    course), by infusion id, make the sessions' resources (server/domain/fhir_sessions.py)."""
    zone = patient.zone
    system = f"{base_url}/fhir/CodeSystem/checkin"
    subject = {"reference": _urn(patient.id), "display": patient.display_name}
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": str(patient.id), "name": [{"text": patient.display_name}]}
    ]
    for a in assessments:
        resources.extend(_assessment_resources(a, subject, zone, base_url))
    resources.extend(_checkin_resource(c, subject, zone, system) for c in checkins)
    resources.extend(session_resources(infusions, records or {}, drugs or {}, subject, zone))
    return {
        "resourceType": "Bundle",
        "id": str(_derived(patient.id, f"export-{now.isoformat()}")),
        "type": "collection",
        "timestamp": now.isoformat(),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }
