"""A patient's right of access and portability: everything stored about them as one document.
Each kind of data is one section; a feature that stores patient data adds its own to
``SECTIONS``, and every kind of log entry is a section of its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from server.db import Connection, Pool, transaction
from server.domain.accounts import Access, User
from server.domain.chair import SessionRecord
from server.domain.devices import DeviceReach, reach_of
from server.domain.logbook import KINDS, LogKind
from server.services.access import own_access
from server.store import audit as audit_store
from server.store import clinic_requests as request_store
from server.store import clinics as clinic_store
from server.store import companions as companion_store
from server.store import courses as course_store
from server.store import entries
from server.store import push as push_store
from server.store import reminders as reminder_store
from server.store import session_records as record_store
from server.store import shares as share_store
from server.timeutil import utc_now

FORMAT = "afterglow-export/1"

Section = Callable[[Connection, Access], Awaitable[Any]]


def _log(kind: LogKind) -> Section:
    # Deleted entries are gone (only an empty tombstone is kept), so they are not exported. A
    # retracted questionnaire is still stored (its clinicians see it): it is, with retracted_at.
    return lambda conn, access: entries.in_range(conn, kind, access, None, None, retracted=True)


async def _devices(conn: Connection, access: Access) -> list[DeviceReach]:
    # Delivered or not, never a push service's status code: whoever subscribes chooses the
    # endpoint, so what it answers must not come back to them through the export.
    return [reach_of(d) for d in await push_store.device_status(conn, access.patient_id)]


async def _session_records(conn: Connection, access: Access) -> list[SessionRecord]:
    return [record for record, _ in await record_store.in_range(conn, access, None, None)]


SECTIONS: dict[str, Section] = {
    "shares": share_store.shares_for_export,
    "access_log": audit_store.trail_for_export,
    "reminders": lambda conn, access: reminder_store.prefs_of(conn, access.patient_id),
    "devices": _devices,
    # Infusion day (issue 16): the treatment plan, the chair records, the ride home.
    "courses": course_store.of_patient,
    "session_records": _session_records,
    "day_before": companion_store.for_export,
    # The clinic (issue 15): shares with care teams, withdrawn ones too, and requests.
    "clinic_shares": lambda conn, access: clinic_store.team_shares_for_export(
        conn, access.patient_id
    ),
    "clinic_requests": lambda conn, access: request_store.of_patient(
        conn, access.patient_id, limit=None
    ),
}


async def export_of(pool: Pool, patient: User, address: str) -> dict[str, Any]:
    """The document, and a line in the patient's access log: a download of everything is worth
    knowing about if it was not them."""
    access = own_access(patient)
    document: dict[str, Any] = {"format": FORMAT, "exported_at": utc_now(), "account": patient}
    sections = {kind.path: _log(kind) for kind in KINDS.values()} | SECTIONS
    async with transaction(pool) as conn:
        # One snapshot, so the sections agree with each other.
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for name, section in sections.items():
            document[name] = await section(conn, access)
    async with transaction(pool) as conn:
        await audit_store.record(
            conn, actor=patient, patient_id=patient.id, action="data_export", address=address
        )
    return document
