"""The clinic's schedule: the infusions of the clinic's patients by day and week, and booking,
moving, cancelling and marking them done.

A change goes through the log's own write (server/services/logbook.py), so it re-plans the
patient's reminders exactly as the patient's own change does, is recorded as the member's
(``updated_by``), and loses to a later change by anyone (the later ``updated_at`` wins). What
the schedule shows and writes is when, how long and the status: never the notes of the chair.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec

from server.db import Connection, Pool, transaction
from server.domain.accounts import Access, User
from server.domain.logbook import INFUSIONS, Entry, parse_entry_id
from server.domain.records import Infusion
from server.errors import InvalidField
from server.services import companions, logbook
from server.services.access import audit_clinician, own_access, parse_patient_id, patient_access
from server.services.team import membership
from server.store import clinics as clinic_store
from server.store import entries
from server.store import summary as summary_store
from server.store.clinics import Booking, Membership
from server.store.entry_writes import Written
from server.timeutil import utc_now

MAX_DAYS = 31


class Booked(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    patient_id: UUID
    scheduled_at: datetime
    duration_minutes: int
    status: str


async def schedule(
    pool: Pool, staff: User, first: datetime, days: int, clinic_id: UUID | None = None
) -> tuple[Membership, list[Booking]]:
    """The clinic's infusions from ``first`` for ``days`` days (1: the day view, 7: the week)."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidField("days", f"Choose 1 to {MAX_DAYS} days.")
    async with transaction(pool) as conn:
        clinic = await membership(conn, staff, "schedule_read", clinic_id)
        found = await clinic_store.schedule(
            conn, clinic.clinic_id, first, first + timedelta(days=days)
        )
        # Each patient's day-before checklist, read through the one access check: one pass per
        # patient on the page (a week of a busy clinic: a few dozen).
        rides: dict[UUID, str] = {}
        by_patient: dict[UUID, list[UUID]] = {}
        for booking in found:
            by_patient.setdefault(booking.patient_id, []).append(booking.id)
        for patient_id, infusion_ids in by_patient.items():
            access = await patient_access(conn, staff, patient_id, "schedule_read")
            rides |= await companions.ride_states(conn, access, infusion_ids)
    return clinic, [msgspec.structs.replace(b, ride=rides.get(b.id)) for b in found]


async def changes_seen_by_patient(pool: Pool, patient: User) -> dict[UUID, str]:
    """The patient's infusions whose standing change was made by someone else (clinic staff,
    their psychiatrist), with that person's name: the patient sees who made the change that
    stands (issue 15)."""
    own_access(patient)
    async with transaction(pool) as conn:
        return await clinic_store.infusion_changes(conn)


async def book(
    pool: Pool,
    staff: User,
    raw_patient_id: str,
    raw_infusion_id: str | None,
    *,
    scheduled_at: datetime | None,
    duration_minutes: int | None,
    status: str | None,
    address: str,
) -> Booked:
    """Book a new infusion (no id, or an id not used yet) or move, cancel or mark done an
    existing one, as the member.
    404 for a patient not the clinic's, 403 for a role that may not write the schedule."""
    now = utc_now()
    async with transaction(pool) as conn:
        access = await patient_access(
            conn, staff, parse_patient_id(raw_patient_id), "schedule_write"
        )
        patient = await summary_store.patient_account(conn, access)
        entry_id = parse_entry_id(raw_infusion_id) if raw_infusion_id else uuid4()
        existing: Infusion | None = await entries.by_id(conn, INFUSIONS, access, entry_id)
        given: dict[str, Any] = {
            "scheduled_at": (scheduled_at or (existing and existing.scheduled_at)),
            "duration_minutes": duration_minutes or (existing.duration_minutes if existing else 40),
            "status": status or (existing.status if existing else "planned"),
        }
        if given["scheduled_at"] is None:
            raise InvalidField("scheduled_at", "Choose a day and time.")
        if existing is not None and existing.notes:
            given["notes"] = existing.notes  # the chair's notes stay as they were
        try:
            content = msgspec.convert(given, INFUSIONS.content)
        except msgspec.ValidationError as exc:
            raise InvalidField("infusion", str(exc)) from None
        entry = Entry(id=entry_id, patient_id=patient.id, zone=patient.zone, updated_at=now)
        stored, _ = await write_infusion(conn, access, entry, content, now=now, address=address)
    return Booked(
        id=stored.id,
        patient_id=stored.patient_id,
        scheduled_at=stored.scheduled_at,
        duration_minutes=stored.duration_minutes,
        status=stored.status,
    )


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def write_infusion(
    conn: Connection, access: Access, entry: Entry, content: Any, *, now: datetime, address: str
) -> tuple[Infusion, Written]:
    """Write one of the patient's infusions as the viewer (a member booking it, the
    psychiatrist changing it) through the log's own write, and audit the change if it stands."""
    written = await logbook.record(
        conn, access, INFUSIONS, entry, content, updated_by=access.viewer.id, now=now
    )
    stored: Infusion = await logbook.settle(conn, INFUSIONS, access, entry.id, written)
    if written.outcome == "applied":
        await audit_clinician(
            conn,
            access,
            "infusion_change",
            address=address,
            detail={"infusion_id": str(entry.id), "status": stored.status},
        )
    return stored, written
