"""A patient's data as their clinician sees it (and as the patient sees their own trend): the
summary, the patient list, exports, and infusions a clinician may add or move.

Every read goes through the one access check (a clinician needs an active share) and, for a
clinician, writes one audit row in the same transaction, so a view is never shown without its
trail. The JSON API and the pages call the same functions.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import msgspec

from server.db import Connection, Pool, transaction
from server.domain.accounts import Access, User
from server.domain.chair import SessionRecord
from server.domain.clinic import Right
from server.domain.courses import Drug
from server.domain.flags import MOOD_LOOK_BACK, PINNED
from server.domain.logbook import (
    ASSESSMENTS,
    CHECKINS,
    INFUSIONS,
    Entry,
    day_range,
    parse_entry_id,
)
from server.domain.records import Assessment, CheckIn, Infusion
from server.domain.summary import Summary, next_infusion, summarise
from server.errors import Conflict, InvalidField
from server.services import chair, courses, logbook
from server.services.access import (
    audit_clinician,
    own_access,
    parse_patient_id,
    patient_access,
)
from server.services.clinic_schedule import write_infusion
from server.store import audit, entries
from server.store import courses as course_store
from server.store import push as push_store
from server.store import session_records as record_store
from server.store import shares as share_store
from server.store import summary as summary_store
from server.store.summary import ListCursor, PatientRow, ReminderReach
from server.timeutil import local_day, utc_now

DEFAULT_DAYS = 90
MAX_DAYS = 3660  # ten years: "all" for anyone in treatment today
# The 7-day average and the pre-infusion level look a week back before the range, mood drops
# five weeks (server/domain/flags.py): 35 days of check-ins more than the range.
LOOK_BACK = MOOD_LOOK_BACK

Preset = Literal["since_infusion", "30", "90", "all"]
ExportAction = Literal["export_csv", "export_fhir"]


async def open_patient(
    conn: Connection, viewer: User, raw_id: str, right: Right = "clinical_read"
) -> tuple[Access, User]:
    access = await patient_access(conn, viewer, parse_patient_id(raw_id), right)
    return access, await summary_store.patient_account(conn, access)


def _range_detail(first: date | None, last: date | None) -> dict[str, Any]:
    return {"from": None if first is None else first.isoformat(), "to": last and last.isoformat()}


async def patient_summary(
    conn: Connection,
    access: Access,
    patient: User,
    *,
    first: date,
    last: date,
    now: datetime,
    started: date | None = None,
) -> Summary:
    """The summary of ``first``..``last``. Assessments and infusions are read in full up to the
    range's end (the baseline and the previous PHQ-9 may be older; both are a few rows a week).
    A clinician also sees the questionnaires the patient retracted, marked so. The courses and
    the chair records of the range's sessions come with it (issue 16)."""
    checkins = await entries.in_range(conn, CHECKINS, access, first - LOOK_BACK, last)
    found = summarise(
        checkins=checkins,
        assessments=await entries.in_range(
            conn, ASSESSMENTS, access, None, last, retracted=access.by_clinician
        ),
        infusions=await entries.in_range(conn, INFUSIONS, access, None, last),
        first=first,
        last=last,
        today=local_day(now, patient.zone),
        as_of=now,
        started=started or await summary_store.started_day(conn, access, patient),
    )
    return msgspec.structs.replace(
        found,
        courses=await courses.course_outcomes(conn, access, patient),
        sessions=await chair.lines_of(conn, access, checkins, first, last),
    )


async def summary_of(
    pool: Pool, viewer: User, raw_id: str, first: date | None, last: date | None, address: str
) -> Summary:
    """The numbers behind the summary page for local days ``first``..``last`` (default: the
    last 90 days)."""
    now = utc_now()
    async with transaction(pool) as conn:
        access, patient = await open_patient(conn, viewer, raw_id)
        first, last = day_range(
            first, last, local_day(now, patient.zone), default_days=DEFAULT_DAYS, max_days=MAX_DAYS
        )
        assert first is not None and last is not None
        result = await patient_summary(conn, access, patient, first=first, last=last, now=now)
        await audit_clinician(
            conn, access, "view_summary", address=address, detail=_range_detail(first, last)
        )
    return result


class ExportRows(msgspec.Struct, frozen=True, kw_only=True):
    patient: User
    checkins: list[CheckIn]
    assessments: list[Assessment]
    infusions: list[Infusion]
    # The sessions' chair records and their courses' drugs, by infusion id (the FHIR export).
    records: dict[UUID, SessionRecord] = msgspec.field(default_factory=dict)
    drugs: dict[UUID, Drug] = msgspec.field(default_factory=dict)


async def export_rows(
    pool: Pool,
    viewer: User,
    raw_id: str,
    first: date | None,
    last: date | None,
    action: ExportAction,
    address: str,
) -> ExportRows:
    """Every entry (or those on local days ``first``..``last``), for a CSV or FHIR export; a
    clinician's holds the questionnaires the patient retracted, marked so."""
    async with transaction(pool) as conn:
        access, patient = await open_patient(conn, viewer, raw_id)
        rows = ExportRows(
            patient=patient,
            checkins=await entries.in_range(conn, CHECKINS, access, first, last),
            assessments=await entries.in_range(
                conn, ASSESSMENTS, access, first, last, retracted=access.by_clinician
            ),
            infusions=await entries.in_range(conn, INFUSIONS, access, first, last),
            records={
                r.infusion_id: r for r, _ in await record_store.in_range(conn, access, first, last)
            },
            drugs=await course_store.session_drugs(conn, access),
        )
        await audit_clinician(
            conn, access, action, address=address, detail=_range_detail(first, last)
        )
    return rows


async def infusions_of(
    pool: Pool,
    viewer: User,
    raw_id: str,
    first: date | None,
    last: date | None,
    *,
    limit: int,
    before: tuple[datetime, UUID] | None,
    address: str,
) -> list[Infusion]:
    """The patient's infusions (on local days ``first``..``last``), latest scheduled first."""
    day_range(first, last, date.min, default_days=None, max_days=MAX_DAYS)  # from <= to
    async with transaction(pool) as conn:
        access = await patient_access(conn, viewer, parse_patient_id(raw_id), "chair_read")
        items: list[Infusion] = await entries.page(
            conn, INFUSIONS, access, first, last, limit=limit, before=before
        )
        await audit_clinician(conn, access, "view_infusions", address=address)
    return items


async def change_infusion(
    pool: Pool,
    viewer: User,
    raw_id: str,
    raw_entry_id: str,
    content: Any,
    *,
    client_updated_at: datetime | None,
    address: str,
) -> tuple[Infusion, bool]:
    """Add or move one of the patient's infusions (the same rules as the patient's own); the
    change is recorded as the viewer's, and a clinician's change is audited."""
    now = utc_now()
    updated_at = logbook.change_time(client_updated_at, now)
    async with transaction(pool) as conn:
        access, patient = await open_patient(conn, viewer, raw_id, "chair_write")
        entry_id = parse_entry_id(raw_entry_id)
        entry = Entry(id=entry_id, patient_id=patient.id, zone=patient.zone, updated_at=updated_at)
        stored, written = await write_infusion(
            conn, access, entry, content, now=now, address=address
        )
    return stored, written.inserted


def triage_order(row: PatientRow) -> tuple[int, int, str]:
    """Flags first (item 9 before anything else), then by name."""
    kinds = {f.kind for f in row.overview.flags}
    urgency = 0 if kinds & PINNED else 1 if kinds else 2
    return urgency, -len(row.overview.flags), row.display_name.lower()


LIST_PAGE = 100  # patients a page of the clinician's list, unless asked for another number
LIST_PAGE_MAX = 500
# A page cursor: "a" (after) or "b" (before) and a patient's id. Only the id: the patient's
# name, the list's sort key, is looked up again and never travels in a URL.
_LIST_CURSOR = re.compile(r"^[ab][0-9a-f]{32}$")


class PatientList(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the clinician's list and the cursors of the pages beside it."""

    rows: list[PatientRow]
    next: str | None  # the cursor of the following page (in name order); None on the last
    previous: str | None  # and of the page before; None on the first


def read_list_cursor(raw: str | None) -> ListCursor | None:
    """The ``cursor`` of a list page as this server made it (``next`` or ``previous``)."""
    if raw is None:
        return None
    if not _LIST_CURSOR.match(raw):
        raise InvalidField("cursor", "Not a page of this list: open the list again.")
    return ListCursor(UUID(hex=raw[1:]), backward=raw[0] == "b")


async def clinician_patients(
    pool: Pool, clinician: User, address: str, *, cursor: str | None = None, limit: int = LIST_PAGE
) -> PatientList:
    """A page of the patients sharing with this clinician, or with a care team of theirs where
    their roles read clinical data (store/summary.shared_patients): ``limit`` of them in name
    order from ``cursor`` on, flagged ones first within the page (the order of the whole list is
    one that pages can keep; working out everyone's flags to sort thousands would not fit a
    page's time). Each patient on the page gets one audit row."""
    if not 1 <= limit <= LIST_PAGE_MAX:
        raise InvalidField("limit", f"Give a number of patients from 1 to {LIST_PAGE_MAX}.")
    start = read_list_cursor(cursor)
    async with transaction(pool) as conn:
        found = await summary_store.shared_patients(conn, clinician, limit=limit, cursor=start)
        if found is None:
            raise InvalidField(
                "cursor", "That page began with a patient no longer on your list: start again."
            )
        patients, more = found
        rows = await summary_store.clinician_overview(conn, clinician, patients, utc_now())
        await audit.record_many(
            conn,
            actor=clinician,
            patient_ids=[r.patient_id for r in rows],
            action="view_patient_list",
            address=address,
        )
    # The page the cursor came from is still there, on the side it was on.
    if start is not None and start.backward:
        later, earlier = True, more
    else:
        later, earlier = more, start is not None
    rows.sort(key=triage_order)
    return PatientList(
        rows=rows,
        next=f"a{patients[-1]['id'].hex}" if patients and later else None,
        previous=f"b{patients[0]['id'].hex}" if patients and earlier else None,
    )


# --- the printable summary page ---------------------------------------------------------------


class SummaryPage(msgspec.Struct, frozen=True, kw_only=True):
    patient: User
    summary: Summary
    reach: ReminderReach
    last_infusion: date | None
    next_infusion: Infusion | None
    own_share: bool  # the viewer is a clinician with a share of their own (not a team's)
    record_number: str | None  # the viewing clinician's, on that share
    now: datetime


def preset_range(
    preset: Preset, today: date, last_infusion: date | None, started: date
) -> tuple[date, date]:
    if preset == "since_infusion" and last_infusion is not None:
        return min(last_infusion, today), today
    if preset == "all":
        return min(started, today), today
    days = 90 if preset == "90" else 30
    return today - timedelta(days=days - 1), today


async def summary_page(
    pool: Pool, viewer: User, raw_id: str, preset: Preset, address: str
) -> SummaryPage:
    now = utc_now()
    async with transaction(pool) as conn:
        access, patient = await open_patient(conn, viewer, raw_id)
        today = local_day(now, patient.zone)
        last_infusion = await summary_store.last_given_infusion_day(conn, access, now)
        started = await summary_store.started_day(conn, access, patient)
        first, last = preset_range(preset, today, last_infusion, started)
        summary = await patient_summary(
            conn, access, patient, first=first, last=last, now=now, started=started
        )
        devices = await push_store.device_status(conn, access.patient_id)
        reach = await summary_store.reminder_reach(conn, access, devices, now)
        coming = await entries.in_range(conn, INFUSIONS, access, today - timedelta(days=1), None)
        own_share, record_number = (
            await share_store.record_number(conn, access) if access.by_clinician else (False, None)
        )
        await audit_clinician(
            conn,
            access,
            "view_summary",
            address=address,
            detail={"from": first.isoformat(), "to": last.isoformat(), "page": True},
        )
    return SummaryPage(
        patient=patient,
        summary=summary,
        reach=reach,
        last_infusion=last_infusion,
        next_infusion=next_infusion(coming, now),
        own_share=own_share,
        record_number=record_number,
        now=now,
    )


RECORD_NUMBER_MAX = 40


def clean_record_number(raw: str) -> str | None:
    """The clinic's record number as typed (surrounding spaces dropped; empty clears it)."""
    value = " ".join(raw.split())
    if len(value) > RECORD_NUMBER_MAX:
        raise InvalidField(
            "record_number", f"A record number has at most {RECORD_NUMBER_MAX} characters."
        )
    return value or None


async def set_record_number(
    pool: Pool, clinician: User, raw_id: str, raw: str, address: str
) -> str | None:
    """Set (or clear) the clinic's record number for a patient on the clinician's own share:
    it heads every printed page of the summary. Audited like any change of a clinician's."""
    value = clean_record_number(raw)
    async with transaction(pool) as conn:
        access, _ = await open_patient(conn, clinician, raw_id)
        if not await share_store.set_record_number(conn, access, value):
            raise Conflict(
                "Only a clinician the patient shares with directly can set a record number.",
                field="record_number",
            )
        await audit_clinician(conn, access, "record_number_set", address=address)
    return value


async def own_history(pool: Pool, patient: User, days: int) -> Summary:
    """The patient's own trend of the last ``days`` days (the History page)."""
    now = utc_now()
    last = local_day(now, patient.zone)
    first = last - timedelta(days=days - 1)
    async with transaction(pool) as conn:
        return await patient_summary(
            conn, own_access(patient), patient, first=first, last=last, now=now
        )
