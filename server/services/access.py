"""The one access check in front of every read or write of patient data.

A viewer may act on a patient's data when the viewer is that patient; a clinician with an
active, unexpired, unrevoked share of their own (as that patient's prescriber); or a member of
a clinic the patient shares with, as far as their roles allow (the table in
server/domain/clinic.py). A patient who is not the viewer's is answered 404, so that existence
is never revealed; a patient who is, but whose data the viewer's role may not touch, 403. Every
store query that touches patient data then filters on ``Access.patient_id``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from server.db import Connection
from server.domain.accounts import Access, User
from server.domain.clinic import SOLE_CLINICIAN, Right, may
from server.errors import Forbidden, NotFound
from server.store import audit
from server.store import clinics as clinic_store

NOT_YOUR_ROLE = "Your role in the clinic does not include this."


def parse_patient_id(raw: str) -> UUID:
    """A malformed id is as unknown as someone else's: 404, never 400."""
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound("No such patient.") from None


async def patient_access(
    conn: Connection, viewer: User, patient_id: UUID, right: Right = "clinical_read"
) -> Access:
    """Who may do ``right`` with ``patient_id``'s data: NotFound for everyone who does not
    reach the patient, Forbidden for a member whose roles do not include ``right``."""
    if viewer.role == "patient" and viewer.id == patient_id:
        return Access(patient_id=patient_id, viewer=viewer, as_="self")
    if viewer.role != "clinician":
        raise NotFound("No such patient.")
    # Read on every request, never cached: a revoked share is refused on the very next one.
    # Row-level security holds the same rule in the database (migrations/0009, 0023).
    reach = await clinic_store.reach(conn, viewer.id, patient_id)
    if reach.own_share and may(SOLE_CLINICIAN, right):
        return Access(patient_id=patient_id, viewer=viewer, as_="clinician", roles=SOLE_CLINICIAN)
    for team in reach.teams:
        if may(team.roles, right):
            return Access(
                patient_id=patient_id,
                viewer=viewer,
                as_="clinician",
                roles=team.roles,
                clinic_id=team.clinic_id,
                clinic_name=team.clinic_name,
            )
    if reach.own_share or reach.teams:
        raise Forbidden(NOT_YOUR_ROLE)
    raise NotFound("No such patient.")


def own_access(patient: User) -> Access:
    """A patient acting on their own data (the /checkins, /assessments, ... endpoints)."""
    if patient.role != "patient":
        raise NotFound("Only patients keep a log.")
    return Access(patient_id=patient.id, viewer=patient, as_="self")


def who(access: Access) -> dict[str, Any]:
    """What the access log says of a clinician beyond their name: their role and clinic."""
    if access.clinic_id is None:
        return {}
    return {"roles": list(access.roles), "clinic": access.clinic_name}


async def audit_clinician(
    conn: Connection,
    access: Access,
    action: audit.Action,
    *,
    address: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Every clinician view, export and change leaves one audit row naming the person, and under
    a team share their role and clinic; the patient's own use does not (they see the trail in
    /me/access-log)."""
    if access.by_clinician:
        await audit.record(
            conn,
            actor=access.viewer,
            patient_id=access.patient_id,
            action=action,
            address=address,
            detail={**(detail or {}), **who(access)} or None,
        )
