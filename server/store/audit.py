"""The audit trail: append-only rows of who did what to which patient's data, from where.

The table refuses UPDATE and DELETE (a trigger); rows about a patient go only when the patient's
account is erased, and then what clinicians saw of their data stays in ``disclosures`` under a
random id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, get_args
from uuid import UUID

import msgspec

from server.db import Connection
from server.domain.accounts import Access, User

# A clinician's acts on a patient's data: an accounting of them outlives the patient's account.
Disclosure = Literal[
    "view_summary",
    "view_patient_list",
    "view_infusions",
    "export_csv",
    "export_fhir",
    "infusion_change",
    "view_alerts",
    "alert_acknowledge",
    "view_requests",
    "request_answer",
    "view_schedule",
]
DISCLOSURES: tuple[Disclosure, ...] = get_args(Disclosure)

Action = Literal[
    Disclosure,
    "sign_in",
    "share_create",
    "share_accept",
    "share_revoke",
    "sign_in_failed",
    "sign_in_blocked",
    "password_change",
    "profile_change",
    "device_add",
    "data_export",
    "account_delete",
    "password_reset",  # written by afterglow_reset_password (migrations/0013)
    "sign_out_everywhere",
    "second_factor_add",
    "second_factor_remove",
    "second_factor_reset",  # by an operator: python -m server reset-mfa
    "second_factor_failed",
    "passkey_add",
    "passkey_remove",
    "record_number_set",  # a clinician noted the patient's record number at their clinic
    "clinic_share_start",
    "clinic_share_revoke",
    "request_send",
]
SignInTrouble = Literal["sign_in_failed", "sign_in_blocked", "second_factor_failed"]


class AuditEvent(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: datetime
    patient_id: UUID | None
    actor_id: UUID | None
    actor_role: str
    actor_name: str
    action: str
    address: str
    detail: dict[str, Any] | None = None


async def record(
    conn: Connection,
    *,
    actor: User,
    patient_id: UUID | None,
    action: Action,
    address: str,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO audit_events (patient_id, actor_id, actor_role, actor_name, action,
                                     address, detail)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        patient_id,
        actor.id,
        actor.role,
        actor.display_name,
        action,
        address,
        detail,
    )


async def record_own(
    conn: Connection,
    account: User,
    action: Action,
    address: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """An account's act on itself: in a patient's access log; a clinician's about no patient."""
    await record(
        conn,
        actor=account,
        patient_id=account.id if account.role == "patient" else None,
        action=action,
        address=address,
        detail=detail,
    )


async def record_by_operator(
    conn: Connection, account: User, action: Action, detail: dict[str, Any] | None = None
) -> None:
    """An operator's act on ``account`` from the command line (as the tables' owner): in a
    patient's access log; a clinician's about no patient."""
    await conn.execute(
        """INSERT INTO audit_events (patient_id, actor_id, actor_role, actor_name, action,
                                     address, detail)
           VALUES ($1, NULL, 'operator', 'The clinic', $2, 'command line', $3)""",
        account.id if account.role == "patient" else None,
        action,
        {"account": str(account.id), **(detail or {})},
    )


async def note_sign_in(
    conn: Connection, account: UUID, action: SignInTrouble, address: str
) -> None:
    """A failed or refused sign-in into ``account``, by whoever typed its password (a request
    with no grant yet: written by a function of migrations/0012)."""
    await conn.execute("SELECT afterglow_note_sign_in($1, $2, $3)", account, action, address)


async def record_erasure(conn: Connection, account: UUID, address: str) -> UUID:
    """Before ``account`` is deleted: its disclosures kept under a new random subject id, and the
    erasure's own row, which names no patient (migrations/0012). Returns the subject id."""
    subject: UUID = await conn.fetchval(
        "SELECT afterglow_erasure($1, $2, $3)", account, list(DISCLOSURES), address
    )
    return subject


async def record_many(
    conn: Connection,
    *,
    actor: User,
    patient_ids: Sequence[UUID],
    action: Action,
    address: str,
) -> None:
    """One row per patient, in one statement (the clinician's patient list)."""
    if not patient_ids:
        return
    await conn.execute(
        """INSERT INTO audit_events (patient_id, actor_id, actor_role, actor_name, action, address)
           SELECT unnest($1::uuid[]), $2, $3, $4, $5, $6""",
        list(patient_ids),
        actor.id,
        actor.role,
        actor.display_name,
        action,
        address,
    )


async def events_of_patient(
    conn: Connection, patient_id: UUID, *, limit: int, before: int | None = None
) -> list[AuditEvent]:
    """Newest first; ``before`` is the id of the last event of the previous page."""
    rows = await conn.fetch(
        """SELECT id, at, patient_id, actor_id, actor_role, actor_name, action, address, detail
             FROM audit_events
            WHERE patient_id = $1 AND ($2::bigint IS NULL OR id < $2)
            ORDER BY id DESC
            LIMIT $3""",
        patient_id,
        before,
        limit,
    )
    return [AuditEvent(**r) for r in rows]  # the columns are the fields


async def trail_for_export(conn: Connection, access: Access) -> list[AuditEvent]:
    """The patient's whole access log, oldest first (their data export)."""
    rows = await conn.fetch(
        """SELECT id, at, patient_id, actor_id, actor_role, actor_name, action, address, detail
             FROM audit_events WHERE patient_id = $1 ORDER BY id""",
        access.patient_id,
    )
    return [AuditEvent(**r) for r in rows]  # the columns are the fields
