"""Invitations to a clinic: of members by email, of patients by link or QR code
(migrations/0023_clinics.sql). Only a token's SHA-256 is ever stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from server.db import Connection
from server.domain.accounts import User
from server.errors import Conflict


class Invitation(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    kind: str
    email: str | None
    roles: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


class PatientInvitation(msgspec.Struct, frozen=True, kw_only=True):
    clinic_id: UUID
    clinic_name: str
    expires_at: datetime


class MemberInvitation(msgspec.Struct, frozen=True, kw_only=True):
    clinic_name: str
    email: str
    roles: tuple[str, ...]


async def invite_member(
    conn: Connection,
    *,
    clinic_id: UUID,
    email: str,
    roles: list[str],
    invited_by: UUID,
    expires_at: datetime,
) -> UUID:
    """The invitation and its email (the worker mints the link's token as it writes it)."""
    invitation: UUID = await conn.fetchval(
        """INSERT INTO clinic_invitations (clinic_id, kind, email, roles, invited_by, expires_at)
           VALUES ($1, 'member', $2, $3, $4, $5) RETURNING id""",
        clinic_id,
        email,
        roles,
        invited_by,
        expires_at,
    )
    await conn.execute("SELECT afterglow_queue_invitation($1)", invitation)
    return invitation


async def invite_patient(
    conn: Connection, *, clinic_id: UUID, token_hash: bytes, invited_by: UUID, expires_at: datetime
) -> UUID:
    invitation: UUID = await conn.fetchval(
        """INSERT INTO clinic_invitations (clinic_id, kind, token_hash, invited_by, expires_at)
           VALUES ($1, 'patient', $2, $3, $4) RETURNING id""",
        clinic_id,
        token_hash,
        invited_by,
        expires_at,
    )
    return invitation


def _invitation(row: Any) -> Invitation:
    return Invitation(
        id=row["id"],
        kind=row["kind"],
        email=row["email"],
        roles=tuple(row["roles"] or ()),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        used_at=row["used_at"],
    )


async def pending_members(conn: Connection, clinic_id: UUID) -> list[Invitation]:
    rows = await conn.fetch(
        """SELECT id, kind, email, roles, created_at, expires_at, used_at
             FROM clinic_invitations
            WHERE clinic_id = $1 AND kind = 'member' AND used_at IS NULL AND expires_at > now()
            ORDER BY created_at DESC LIMIT 100""",
        clinic_id,
    )
    return [_invitation(r) for r in rows]


async def withdraw(conn: Connection, clinic_id: UUID, invitation_id: UUID) -> bool:
    done = await conn.fetchval(
        """UPDATE clinic_invitations SET expires_at = now()
            WHERE id = $1 AND clinic_id = $2 AND used_at IS NULL AND expires_at > now()
        RETURNING true""",
        invitation_id,
        clinic_id,
    )
    return bool(done)


async def patient_invitation(conn: Connection, token_hash: bytes) -> PatientInvitation | None:
    row = await conn.fetchrow("SELECT * FROM afterglow_patient_invitation($1)", token_hash)
    return None if row is None else PatientInvitation(**dict(row))


async def consent(conn: Connection, token_hash: bytes) -> UUID | None:
    """The team share the signed-in patient's consent starts; None for a dead token."""
    share: UUID | None = await conn.fetchval("SELECT afterglow_consent_to_clinic($1)", token_hash)
    return share


async def member_invitation(conn: Connection, token_hash: bytes) -> MemberInvitation | None:
    row = await conn.fetchrow("SELECT * FROM afterglow_member_invitation($1)", token_hash)
    if row is None:
        return None
    return MemberInvitation(
        clinic_name=row["clinic_name"], email=row["email"], roles=tuple(row["roles"])
    )


async def join(
    conn: Connection, *, token_hash: bytes, password_hash: str, display_name: str, timezone: str
) -> User | None:
    """The invitee's account, made a member; None for a dead token."""
    try:
        row = await conn.fetchrow(
            "SELECT * FROM afterglow_join_clinic($1, $2, $3, $4)",
            token_hash,
            password_hash,
            display_name,
            timezone,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(
            "This address already has an account: sign in with it first, then open the link again.",
            field="email",
        ) from None
    if row is None:
        return None
    return User(**dict(row))


async def mint(conn: Connection, recipient: str, token_hash: bytes) -> str | None:
    """The worker, writing an invitation's email: the newest pending invitation of the address
    gets the token's hash. Returns the clinic's name (None: nothing pending any more)."""
    name: str | None = await conn.fetchval(
        "SELECT afterglow_mint_invitation($1, $2)", recipient, token_hash
    )
    return name
