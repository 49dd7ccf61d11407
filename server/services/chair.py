"""The chair: the clinic's record of a session (server/domain/chair.py), written on the tablet
by a nurse or prescriber, and its lines on the summary."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import msgspec

from server.db import Connection, Pool, transaction
from server.domain.accounts import Access, User
from server.domain.chair import (
    DEFAULT_LIMITS,
    ClinicLimits,
    SessionLine,
    SessionRecord,
    SessionRecordIn,
    bp_warning,
    check_record,
    limits_of,
    session_lines,
)
from server.domain.clinic import Right
from server.domain.courses import Drug
from server.domain.logbook import INFUSIONS, parse_entry_id
from server.domain.records import CheckIn, Infusion
from server.domain.summary import daily_means
from server.errors import NotFound
from server.services.access import audit_clinician, parse_patient_id, patient_access
from server.store import clinics as clinic_store
from server.store import courses as course_store
from server.store import entries
from server.store import session_records as record_store
from server.store import summary as summary_store
from server.timeutil import utc_now

NO_SESSION = "No such session."


async def _session(
    conn: Connection, viewer: User, raw_patient_id: str, raw_infusion_id: str, right: Right
) -> tuple[Access, UUID]:
    access = await patient_access(conn, viewer, parse_patient_id(raw_patient_id), right)
    return access, parse_entry_id(raw_infusion_id, "infusion_id")


async def _audit_view(conn: Connection, access: Access, infusion_id: UUID, address: str) -> None:
    detail = {"infusion_id": str(infusion_id)}
    await audit_clinician(conn, access, "view_infusions", address=address, detail=detail)


class RecordOut(msgspec.Struct, frozen=True, kw_only=True):
    record: SessionRecord
    warning: str | None  # a blood pressure above the clinic's threshold before dosing


async def limits_for(conn: Connection, access: Access) -> ClinicLimits:
    """The dose limits and blood-pressure threshold of the clinic the viewer works for (its
    settings, issue 15): the team's under a team share, a single doctor's own clinic under a
    share of their own, the patient's clinic for the patient; the defaults declared in
    server/domain/chair.py where there is none."""
    clinic_id = access.clinic_id
    if clinic_id is None and access.by_clinician:
        mine = await clinic_store.memberships(conn, access.viewer.id)
        clinic_id = mine[0].clinic_id if mine else None
    if clinic_id is None:
        found = await clinic_store.clinic_of_patient(conn, access.patient_id)
    else:
        found = await clinic_store.clinic(conn, clinic_id)
    return DEFAULT_LIMITS if found is None else limits_of(found.settings)


async def save_record(
    pool: Pool,
    viewer: User,
    raw_patient_id: str,
    raw_infusion_id: str,
    sent: SessionRecordIn,
    *,
    address: str,
) -> RecordOut:
    """Create or replace the session record of one of the patient's infusions."""
    async with transaction(pool) as conn:
        access, infusion_id = await _session(
            conn, viewer, raw_patient_id, raw_infusion_id, "chair_write"
        )
        if await entries.by_id(conn, INFUSIONS, access, infusion_id) is None:
            raise NotFound(NO_SESSION)
        limits = await limits_for(conn, access)
        record = await record_on(conn, access, infusion_id, sent, limits)
        await audit_clinician(
            conn,
            access,
            "infusion_change",
            address=address,
            detail={"infusion_id": str(infusion_id), "session_record": True},
        )
    return RecordOut(record=record, warning=bp_warning(record, limits, viewer.language))


async def record_on(
    conn: Connection,
    access: Access,
    infusion_id: UUID,
    sent: SessionRecordIn,
    limits: ClinicLimits = DEFAULT_LIMITS,
) -> SessionRecord:
    """Check and store a session record in the caller's transaction (the API, the demo)."""
    checked = check_record(sent, limits)
    return await record_store.save(
        conn, access, infusion_id, checked, recorded_by=access.viewer.id, now=utc_now()
    )


async def record_of(
    pool: Pool, viewer: User, raw_patient_id: str, raw_infusion_id: str, *, address: str
) -> RecordOut:
    async with transaction(pool) as conn:
        access, infusion_id = await _session(
            conn, viewer, raw_patient_id, raw_infusion_id, "chair_read"
        )
        record = await record_store.of_infusion(conn, access, infusion_id)
        if record is None:
            raise NotFound("No record of this session yet.")
        limits = await limits_for(conn, access)
        await _audit_view(conn, access, infusion_id, address)
    return RecordOut(record=record, warning=bp_warning(record, limits, viewer.language))


async def lines_of(
    conn: Connection,
    access: Access,
    checkins: list[CheckIn],
    first: date | None,
    last: date | None,
) -> list[SessionLine]:
    """The summary's sessions of local days first..last; ``checkins`` reach the days after."""
    records = await record_store.in_range(conn, access, first, last)
    moods = {day: mean for day, (mean, _) in daily_means(checkins).items()}
    limits = await limits_for(conn, access)
    return session_lines(records, moods, limits, access.viewer.language)


class ChairPage(msgspec.Struct, frozen=True, kw_only=True):
    """What the tablet's session page shows: the session, its record so far, the drug its course
    planned, and the clinic's limits."""

    patient: User
    infusion: Infusion
    record: SessionRecord | None
    warning: str | None
    drug: Drug
    limits: ClinicLimits


async def chair_page(
    pool: Pool, viewer: User, raw_patient_id: str, raw_infusion_id: str, *, address: str
) -> ChairPage:
    async with transaction(pool) as conn:
        access, infusion_id = await _session(
            conn, viewer, raw_patient_id, raw_infusion_id, "chair_read"
        )
        infusion: Infusion | None = await entries.by_id(conn, INFUSIONS, access, infusion_id)
        if infusion is None:
            raise NotFound(NO_SESSION)
        patient = await summary_store.patient_account(conn, access)
        record = await record_store.of_infusion(conn, access, infusion_id)
        planned = (await course_store.session_drugs(conn, access)).get(infusion_id)
        limits = await limits_for(conn, access)
        await _audit_view(conn, access, infusion_id, address)
    return ChairPage(
        patient=patient,
        infusion=infusion,
        record=record,
        warning=None if record is None else bp_warning(record, limits, viewer.language),
        drug=record.drug if record else planned or "iv_ketamine",
        limits=limits,
    )
