"""Shares between a patient and a clinician (see migrations/0006_sharing.sql)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from server.db import Connection
from server.domain.accounts import Access
from server.domain.sharing import Party, Share
from server.errors import Conflict

_SELECT = """
SELECT s.id, s.patient_id, s.created_at, s.expires_at, s.accepted_at, s.revoked_at,
       c.id AS c_id, c.display_name AS c_name, c.email AS c_email,
       p.id AS p_id, p.display_name AS p_name, p.email AS p_email
  FROM shares s
  JOIN users p ON p.id = s.patient_id
  LEFT JOIN users c ON c.id = s.clinician_id
"""


def _share(row: Any) -> Share:
    clinician = (
        Party(id=row["c_id"], display_name=row["c_name"], email=row["c_email"])
        if row["c_id"] is not None
        else None
    )
    return Share(
        id=row["id"],
        patient_id=row["patient_id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        accepted_at=row["accepted_at"],
        revoked_at=row["revoked_at"],
        clinician=clinician,
        patient=Party(id=row["p_id"], display_name=row["p_name"], email=row["p_email"]),
    )


async def create_share(
    conn: Connection, *, patient_id: UUID, code_hash: bytes, expires_at: datetime
) -> Share:
    share_id = await conn.fetchval(
        "INSERT INTO shares (patient_id, code_hash, expires_at) VALUES ($1, $2, $3) RETURNING id",
        patient_id,
        code_hash,
        expires_at,
    )
    row = await conn.fetchrow(_SELECT + " WHERE s.id = $1", share_id)
    return _share(row)


async def accept_code(conn: Connection, *, code_hash: bytes, clinician_id: UUID) -> Share | None:
    """Bind an unused, unexpired, unrevoked code to the clinician; None when there is no such
    code. The UPDATE's WHERE is the single-use guarantee: two clinicians racing for one code
    cannot both win. A pending share is nobody's the clinician may see yet: a SECURITY DEFINER
    function finds it by the code alone (migrations/0009)."""
    try:
        share_id = await conn.fetchval(
            "SELECT afterglow_accept_share($1, $2)", code_hash, clinician_id
        )
    except asyncpg.UniqueViolationError:
        raise Conflict("You already have access to this patient's summary.", field="code") from None
    if share_id is None:
        return None
    row = await conn.fetchrow(_SELECT + " WHERE s.id = $1", share_id)
    return _share(row)


async def shares_of_patient(conn: Connection, patient_id: UUID) -> list[Share]:
    """Active shares and codes not yet used or expired, newest first."""
    rows = await conn.fetch(
        _SELECT
        + """ WHERE s.patient_id = $1 AND s.revoked_at IS NULL
                AND (s.accepted_at IS NOT NULL OR s.expires_at > now())
              ORDER BY s.created_at DESC""",
        patient_id,
    )
    return [_share(r) for r in rows]


async def shares_of_clinician(conn: Connection, clinician_id: UUID) -> list[Share]:
    """The clinician's active shares, by patient name."""
    rows = await conn.fetch(
        _SELECT
        + """ WHERE s.clinician_id = $1 AND s.revoked_at IS NULL
              ORDER BY p.display_name, s.accepted_at""",
        clinician_id,
    )
    return [_share(r) for r in rows]


async def revoke(conn: Connection, *, share_id: UUID, patient_id: UUID) -> Share | None:
    """Revoke one of the patient's shares (active or pending). None if it is not theirs or
    already revoked."""
    revoked = await conn.fetchval(
        """UPDATE shares SET revoked_at = now()
            WHERE id = $1 AND patient_id = $2 AND revoked_at IS NULL
        RETURNING id""",
        share_id,
        patient_id,
    )
    if revoked is None:
        return None
    row = await conn.fetchrow(_SELECT + " WHERE s.id = $1", share_id)
    return _share(row)


async def has_active_share(conn: Connection, *, clinician_id: UUID, patient_id: UUID) -> bool:
    found: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM shares
                           WHERE clinician_id = $1 AND patient_id = $2 AND revoked_at IS NULL)""",
        clinician_id,
        patient_id,
    )
    return found


async def shares_for_export(conn: Connection, access: Access) -> list[Share]:
    """Every share the patient ever made, withdrawn ones too (their data export)."""
    rows = await conn.fetch(
        _SELECT + " WHERE s.patient_id = $1 ORDER BY s.created_at", access.patient_id
    )
    return [_share(r) for r in rows]


async def sharing_clinicians(conn: Connection, patient_id: UUID) -> list[UUID]:
    """Every clinician with an active share of ``patient_id``."""
    rows = await conn.fetch(
        """SELECT clinician_id FROM shares
            WHERE patient_id = $1 AND clinician_id IS NOT NULL AND revoked_at IS NULL""",
        patient_id,
    )
    return [row["clinician_id"] for row in rows]


async def set_record_number(conn: Connection, access: Access, record_number: str | None) -> bool:
    """The clinic's record number on the viewing clinician's active share of the patient (None
    clears it); False when they have no share of their own (a clinic's team share has none)."""
    found = await conn.fetchval(
        """UPDATE shares SET record_number = $3
            WHERE clinician_id = $1 AND patient_id = $2 AND revoked_at IS NULL
        RETURNING id""",
        access.viewer.id,
        access.patient_id,
        record_number,
    )
    return found is not None


async def record_number(conn: Connection, access: Access) -> tuple[bool, str | None]:
    """Whether the viewing clinician has a share of their own with the patient (not only a
    clinic's team share), and the record number they gave the patient on it."""
    row = await conn.fetchrow(
        """SELECT record_number FROM shares
            WHERE clinician_id = $1 AND patient_id = $2 AND revoked_at IS NULL""",
        access.viewer.id,
        access.patient_id,
    )
    return (False, None) if row is None else (True, row["record_number"])
