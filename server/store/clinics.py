"""Clinics, their members and team shares (migrations/0023_clinics.sql)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from server.db import Connection
from server.domain.clinic import Clinic, ClinicSettings

_SETTINGS = (
    "name, phone, country, emergency_number, pre_session_instructions, "
    "pre_session_instructions_es, checkin_time, "
    "day_before_reminder, two_hours_reminder, evening_after_reminder, on_call_email, "
    "ketamine_min_mg_per_kg, ketamine_max_mg_per_kg, esketamine_doses, bp_systolic_threshold, "
    "bp_diastolic_threshold"
)


class Membership(msgspec.Struct, frozen=True, kw_only=True):
    clinic_id: UUID
    clinic_name: str
    roles: tuple[str, ...]


class Member(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    display_name: str
    email: str
    roles: tuple[str, ...]
    joined_at: datetime


class TeamShare(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    clinic_id: UUID
    clinic_name: str
    patient_id: UUID
    created_at: datetime
    revoked_at: datetime | None


class TeamPatient(msgspec.Struct, frozen=True, kw_only=True):
    patient_id: UUID
    display_name: str
    shared_since: datetime


class Reach(msgspec.Struct, frozen=True, kw_only=True):
    """How a clinician reaches a patient: a share of their own, and/or clinics sharing."""

    own_share: bool
    teams: list[Membership]


class Booking(msgspec.Struct, frozen=True, kw_only=True):
    """An infusion on the clinic's schedule: when, and whose (nothing clinical)."""

    id: UUID
    patient_id: UUID
    patient_name: str
    timezone: str
    scheduled_at: datetime
    duration_minutes: int
    status: str
    ride: str | None = None  # the day-before checklist's state ("ride: confirmed by Ana")


def _clinic(row: Any) -> Clinic:
    return Clinic(
        id=row["id"],
        created_at=row["created_at"],
        settings=ClinicSettings(
            **{k: row[k] for k in _SETTINGS.split(", ") if k != "esketamine_doses"},
            esketamine_doses=tuple(row["esketamine_doses"]),
        ),
    )


async def create_clinic(conn: Connection, name: str) -> UUID:
    clinic_id: UUID = await conn.fetchval(
        "INSERT INTO clinics (name) VALUES ($1) RETURNING id", name
    )
    return clinic_id


async def add_member(
    conn: Connection, clinic_id: UUID, clinician_id: UUID, roles: Sequence[str]
) -> None:
    """A member with ``roles`` (added to the roles they hold already). Owner connections only:
    a request adds members through an invitation (afterglow_join_clinic)."""
    await conn.execute(
        """INSERT INTO clinic_members (clinic_id, clinician_id, roles) VALUES ($1, $2, $3)
           ON CONFLICT (clinic_id, clinician_id) DO UPDATE
               SET roles = ARRAY(SELECT DISTINCT unnest(clinic_members.roles || EXCLUDED.roles))""",
        clinic_id,
        clinician_id,
        list(roles),
    )


async def clinic(conn: Connection, clinic_id: UUID) -> Clinic | None:
    row = await conn.fetchrow(
        f"SELECT id, created_at, {_SETTINGS} FROM clinics WHERE id = $1", clinic_id
    )
    return None if row is None else _clinic(row)


def _column(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


async def update_settings(conn: Connection, clinic_id: UUID, settings: ClinicSettings) -> bool:
    fields = _SETTINGS.split(", ")
    assignments = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(fields))
    done = await conn.fetchval(
        f"UPDATE clinics SET {assignments} WHERE id = $1 RETURNING true",
        clinic_id,
        *(_column(getattr(settings, name)) for name in fields),
    )
    return bool(done)


async def memberships(conn: Connection, clinician_id: UUID) -> list[Membership]:
    rows = await conn.fetch(
        """SELECT c.id, c.name, m.roles FROM clinic_members m JOIN clinics c ON c.id = m.clinic_id
            WHERE m.clinician_id = $1 ORDER BY m.joined_at, c.name""",
        clinician_id,
    )
    return [
        Membership(clinic_id=r["id"], clinic_name=r["name"], roles=tuple(r["roles"])) for r in rows
    ]


async def reach(conn: Connection, clinician_id: UUID, patient_id: UUID) -> Reach:
    """Read on every request, never cached: a withdrawn share (of either kind) holds at once."""
    row = await conn.fetchrow(
        """SELECT EXISTS (SELECT FROM shares s
                           WHERE s.clinician_id = $1 AND s.patient_id = $2
                             AND s.revoked_at IS NULL) AS own,
                  coalesce(jsonb_agg(jsonb_build_object(
                      'clinic_id', c.id, 'clinic_name', c.name, 'roles', m.roles)
                      ORDER BY cs.created_at) FILTER (WHERE c.id IS NOT NULL), '[]') AS teams
             FROM (SELECT 1) one
             LEFT JOIN clinic_shares cs ON cs.patient_id = $2 AND cs.revoked_at IS NULL
             LEFT JOIN clinic_members m ON m.clinic_id = cs.clinic_id AND m.clinician_id = $1
             LEFT JOIN clinics c ON c.id = m.clinic_id""",
        clinician_id,
        patient_id,
    )
    assert row is not None
    return Reach(own_share=row["own"], teams=msgspec.convert(row["teams"], list[Membership]))


async def members(conn: Connection, clinic_id: UUID) -> list[Member]:
    rows = await conn.fetch(
        """SELECT u.id, u.display_name, u.email, m.roles, m.joined_at
             FROM clinic_members m JOIN users u ON u.id = m.clinician_id
            WHERE m.clinic_id = $1 ORDER BY u.display_name""",
        clinic_id,
    )
    return [
        Member(
            id=r["id"],
            display_name=r["display_name"],
            email=r["email"],
            roles=tuple(r["roles"]),
            joined_at=r["joined_at"],
        )
        for r in rows
    ]


async def set_roles(
    conn: Connection, clinic_id: UUID, clinician_id: UUID, roles: list[str]
) -> bool:
    done = await conn.fetchval(
        """UPDATE clinic_members SET roles = $3 WHERE clinic_id = $1 AND clinician_id = $2
        RETURNING true""",
        clinic_id,
        clinician_id,
        roles,
    )
    return bool(done)


async def remove_member(conn: Connection, clinic_id: UUID, clinician_id: UUID) -> bool:
    done = await conn.fetchval(
        "DELETE FROM clinic_members WHERE clinic_id = $1 AND clinician_id = $2 RETURNING true",
        clinic_id,
        clinician_id,
    )
    return bool(done)


async def admins_left(conn: Connection, clinic_id: UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM clinic_members WHERE clinic_id = $1 AND 'admin' = ANY (roles)",
        clinic_id,
    )
    return count


async def team_patients(conn: Connection, clinic_id: UUID) -> list[TeamPatient]:
    """The patients sharing with the clinic now, by name."""
    rows = await conn.fetch(
        """SELECT u.id, u.display_name, cs.created_at
             FROM clinic_shares cs JOIN users u ON u.id = cs.patient_id
            WHERE cs.clinic_id = $1 AND cs.revoked_at IS NULL
            ORDER BY u.display_name, cs.created_at""",
        clinic_id,
    )
    return [
        TeamPatient(
            patient_id=r["id"], display_name=r["display_name"], shared_since=r["created_at"]
        )
        for r in rows
    ]


_TEAM_SHARE = """
SELECT cs.id, cs.clinic_id, c.name AS clinic_name, cs.patient_id, cs.created_at, cs.revoked_at
  FROM clinic_shares cs JOIN clinics c ON c.id = cs.clinic_id
"""


def _team_share(row: Any) -> TeamShare:
    return TeamShare(**dict(row))


async def team_shares_of_patient(conn: Connection, patient_id: UUID) -> list[TeamShare]:
    rows = await conn.fetch(
        _TEAM_SHARE
        + " WHERE cs.patient_id = $1 AND cs.revoked_at IS NULL ORDER BY cs.created_at DESC",
        patient_id,
    )
    return [_team_share(r) for r in rows]


async def team_shares_for_export(conn: Connection, patient_id: UUID) -> list[TeamShare]:
    """Every share with a clinic the patient ever made, withdrawn ones too (their export)."""
    rows = await conn.fetch(
        _TEAM_SHARE + " WHERE cs.patient_id = $1 ORDER BY cs.created_at", patient_id
    )
    return [_team_share(r) for r in rows]


async def team_share(conn: Connection, share_id: UUID) -> TeamShare | None:
    row = await conn.fetchrow(_TEAM_SHARE + " WHERE cs.id = $1", share_id)
    return None if row is None else _team_share(row)


async def revoke_team_share(
    conn: Connection, *, share_id: UUID, patient_id: UUID
) -> TeamShare | None:
    revoked = await conn.fetchval(
        """UPDATE clinic_shares SET revoked_at = now()
            WHERE id = $1 AND patient_id = $2 AND revoked_at IS NULL RETURNING id""",
        share_id,
        patient_id,
    )
    return None if revoked is None else await team_share(conn, share_id)


async def start_team_share(conn: Connection, clinic_id: UUID, patient_id: UUID) -> UUID:
    """Owner connections only (the demo, tests): a patient's request starts one by consent."""
    share_id: UUID = await conn.fetchval(
        "INSERT INTO clinic_shares (clinic_id, patient_id) VALUES ($1, $2) RETURNING id",
        clinic_id,
        patient_id,
    )
    return share_id


async def clinic_of_patient(conn: Connection, patient_id: UUID) -> Clinic | None:
    """The clinic the patient shares with (the newest share, where there are several)."""
    row = await conn.fetchrow(
        f"""SELECT c.id, c.created_at, {", ".join("c." + f for f in _SETTINGS.split(", "))}
              FROM clinic_shares cs JOIN clinics c ON c.id = cs.clinic_id
             WHERE cs.patient_id = $1 AND cs.revoked_at IS NULL
             ORDER BY cs.created_at DESC LIMIT 1""",
        patient_id,
    )
    return None if row is None else _clinic(row)


async def schedule(
    conn: Connection, clinic_id: UUID, start: datetime, end: datetime
) -> list[Booking]:
    """The infusions of the clinic's patients from ``start`` to ``end``, in time order."""
    rows = await conn.fetch(
        """SELECT i.id, i.patient_id, u.display_name, u.timezone, i.scheduled_at,
                  i.duration_minutes, i.status
             FROM clinic_shares cs
             JOIN infusions i ON i.patient_id = cs.patient_id
             JOIN users u ON u.id = cs.patient_id
            WHERE cs.clinic_id = $1 AND cs.revoked_at IS NULL AND NOT i.deleted
              AND i.scheduled_at >= $2 AND i.scheduled_at < $3
            ORDER BY i.scheduled_at, u.display_name""",
        clinic_id,
        start,
        end,
    )
    return [
        Booking(
            id=r["id"],
            patient_id=r["patient_id"],
            patient_name=r["display_name"],
            timezone=r["timezone"],
            scheduled_at=r["scheduled_at"],
            duration_minutes=r["duration_minutes"],
            status=r["status"],
        )
        for r in rows
    ]


async def infusion_changes(conn: Connection) -> dict[UUID, str]:
    """The requesting patient's infusions whose standing change someone else made, with that
    person's name (afterglow_infusion_changes, migrations/0026)."""
    rows = await conn.fetch("SELECT infusion_id, changed_by FROM afterglow_infusion_changes()")
    return {r["infusion_id"]: r["changed_by"] for r in rows}


async def any_on_call(conn: Connection) -> bool:
    """Whether any clinic set an on-call address (the escalation pass has somewhere to go)."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT FROM clinics WHERE on_call_email IS NOT NULL)"
    )
    return found
