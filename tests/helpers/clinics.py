"""Clinics for tests: a clinic made as an operator would, members signed in with their roles,
and a patient's team share made through the real invitation and consent."""

from __future__ import annotations

import uuid
from typing import Any

from server import db
from server.store import clinics as clinic_store
from tests.helpers.accounts import make_clinician
from tests.helpers.client import Client


async def make_clinic(pool: db.Pool, name: str = "Test Clinic") -> uuid.UUID:
    async with db.transaction(pool) as conn:
        return await clinic_store.create_clinic(conn, name)


async def make_member(
    pool: db.Pool, client: Client, clinic_id: uuid.UUID, roles: list[str], name: str = "Staff"
) -> dict[str, Any]:
    """A clinician account signed in on ``client``, a member of the clinic with ``roles``."""
    me = await make_clinician(pool, client, name)
    async with db.transaction(pool) as conn:
        await clinic_store.add_member(conn, clinic_id, uuid.UUID(me["id"]), roles)
    return me


async def patient_invitation(staff: Client) -> str:
    """A patient invitation made by ``staff``; returns its token (from the link's fragment)."""
    response = await staff.post("/api/v1/clinic/patient-invitations")
    assert response.status_code == 201, response.text
    link: str = response.json()["link"]
    return link.split("#token=", 1)[1]


async def join_team(patient: Client, staff: Client) -> str:
    """The patient consents to share with ``staff``'s clinic; returns the team share's id."""
    token = await patient_invitation(staff)
    response = await patient.post("/api/v1/invitations/consent", json={"token": token})
    assert response.status_code == 201, response.text
    return str(response.json()["share_id"])
