"""The one access check in front of every read or write of patient data.

A viewer may act on a patient's data when the viewer is that patient, or (sharing) a clinician
with an active, unexpired, unrevoked share. Anything else is answered 404 so that existence is
never revealed. Every store query that touches patient data then filters on ``Access.patient_id``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from server.db import Connection
from server.domain.accounts import Access, User
from server.errors import NotFound
from server.store import audit
from server.store import shares as share_store


def parse_patient_id(raw: str) -> UUID:
    """A malformed id is as unknown as someone else's: 404, never 400."""
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound("No such patient.") from None


async def patient_access(conn: Connection, viewer: User, patient_id: UUID) -> Access:
    """Who may see ``patient_id``'s data: raises NotFound for everyone else."""
    if viewer.role == "patient" and viewer.id == patient_id:
        return Access(patient_id=patient_id, viewer=viewer, as_="self")
    # Read on every request, never cached: a revoked share is refused on the very next one.
    # Row-level security holds the same rule in the database (migrations/0009).
    if viewer.role == "clinician" and await share_store.has_active_share(
        conn, clinician_id=viewer.id, patient_id=patient_id
    ):
        return Access(patient_id=patient_id, viewer=viewer, as_="clinician")
    raise NotFound("No such patient.")


def own_access(patient: User) -> Access:
    """A patient acting on their own data (the /checkins, /assessments, ... endpoints)."""
    if patient.role != "patient":
        raise NotFound("Only patients keep a log.")
    return Access(patient_id=patient.id, viewer=patient, as_="self")


async def audit_clinician(
    conn: Connection,
    access: Access,
    action: audit.Action,
    *,
    address: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Every clinician view, export and change leaves one audit row; the patient's own use does
    not (they see the trail in /me/access-log)."""
    if access.by_clinician:
        await audit.record(
            conn,
            actor=access.viewer,
            patient_id=access.patient_id,
            action=action,
            address=address,
            detail=detail,
        )
