"""Sharing with a clinician: codes, acceptance, revocation, and the patient's access log.

A patient makes a single-use code and reads it to their clinician, who enters it. Failed
entries count against the clinician's account and address in the one throttle, so a code
cannot be guessed (50 bits, at most ``ACCEPT_LIMIT`` wrong tries per 15 minutes).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from server.db import Connection, Pool, transaction
from server.domain.accounts import User
from server.domain.sharing import CODE_LIFETIME, Share, code_hash, new_code, normalise_code
from server.errors import AppError, NotFound
from server.i18n import N_
from server.services import throttle
from server.store import audit
from server.store import clinics as clinic_store
from server.store import shares as share_store
from server.store.clinics import TeamShare
from server.timeutil import utc_now

ACCEPT_LIMIT = 10  # wrong codes per clinician account per throttle window (15 minutes)
ADDRESS_LIMIT = 30
DEFAULT_HOURS = int(CODE_LIFETIME.total_seconds() // 3600)

# How the access log names each action, for the patient.
ACTION_LABELS: dict[str, str] = {
    "sign_in": N_("Signed in"),
    "share_create": N_("Made a share code"),
    "share_accept": N_("Accepted a share code"),
    "share_revoke": N_("Withdrew a share"),
    "view_summary": N_("Viewed your summary"),
    "view_patient_list": N_("Saw you in their patient list"),
    "view_infusions": N_("Viewed your infusions"),
    "export_csv": N_("Exported your log (CSV)"),
    "export_fhir": N_("Exported your log (FHIR)"),
    "infusion_change": N_("Changed an infusion"),
    "sign_in_failed": N_("Tried to sign in with a wrong password"),
    "sign_in_blocked": N_("Was stopped from signing in after too many wrong passwords"),
    "password_change": N_("Changed the password"),
    "profile_change": N_("Changed the profile"),
    "device_add": N_("Added a device for reminders"),
    "data_export": N_("Downloaded all your data"),
    "account_delete": N_("Deleted the account"),
    "password_reset": N_("Chose a new password through an emailed link"),
    "sign_out_everywhere": N_("Signed out on every device"),
    "second_factor_add": N_("Set up an authenticator app for signing in"),
    "second_factor_remove": N_("Removed the authenticator app from the account"),
    "second_factor_reset": N_("The clinic removed the account's second sign-in step"),
    "second_factor_failed": N_("Tried to sign in with a wrong code"),
    "passkey_add": N_("Added a passkey for signing in"),
    "passkey_remove": N_("Removed a passkey"),
    "record_number_set": N_("Noted your record number at their clinic"),
    "view_alerts": N_("Saw the alerts your answers raised"),
    "alert_acknowledge": N_("Saw your answers that raised an alert, and acknowledged it"),
    "clinic_share_start": N_("Started sharing with a clinic's care team"),
    "clinic_share_revoke": N_("Stopped sharing with a clinic's care team"),
    "request_send": N_("Sent a request to the clinic"),
    "view_requests": N_("Read your requests to the clinic"),
    "request_answer": N_("Answered your request to the clinic"),
    "view_schedule": N_("Saw your infusions on the clinic's schedule"),
}


class LogActor(msgspec.Struct):
    id: UUID | None
    name: str
    role: str
    clinic: str | None = None  # under a team share: the clinic, and their roles in it
    clinic_roles: list[str] | None = None


class LogEntry(msgspec.Struct):
    id: int
    at: datetime
    actor: LogActor
    action: str
    address: str
    detail: dict[str, Any] | None


class AccessLog(msgspec.Struct):
    items: list[LogEntry]
    next: int | None  # pass as ?before= for the following (older) page


async def _audit(
    conn: Connection, actor: User, share: Share, action: audit.Action, address: str
) -> None:
    """Every step of sharing is in the patient's access log."""
    detail = {"share_id": str(share.id)}
    await audit.record(
        conn,
        actor=actor,
        patient_id=share.patient_id,
        action=action,
        address=address,
        detail=detail,
    )


async def create_share(
    pool: Pool, patient: User, address: str, hours: int = DEFAULT_HOURS
) -> tuple[Share, str]:
    """A new code (shown once; only its hash is kept) and its share."""
    code = new_code()
    async with transaction(pool) as conn:
        share = await share_store.create_share(
            conn,
            patient_id=patient.id,
            code_hash=code_hash(code),
            expires_at=utc_now() + timedelta(hours=hours),
        )
        await _audit(conn, patient, share, "share_create", address)
    return share, code


async def accept_share(pool: Pool, clinician: User, typed: str, address: str) -> Share:
    """Bind a code to the clinician, or raise: 400 malformed, 404 unknown/used/expired/revoked,
    409 already shared, 429 too many wrong codes."""
    # Plain keys, unlike sign-in's keyed hash of a typed email: a signed-in clinician's id and
    # their address are what the audit trail holds of them anyway, and nothing typed is kept.
    keys = (f"share:acct:{clinician.id}", f"share:addr:{address}")
    await throttle.check(
        pool,
        list(zip(keys, (ACCEPT_LIMIT, ADDRESS_LIMIT), strict=True)),
        N_("Too many wrong codes."),
    )
    normalise_code(typed)  # a malformed code is a typing slip, not a guess: 400, not counted
    async with transaction(pool) as conn:
        share = await share_store.accept_code(
            conn, code_hash=code_hash(typed), clinician_id=clinician.id
        )
        if share is not None:
            await _audit(conn, clinician, share, "share_accept", address)
    if share is None:
        await throttle.failed(pool, keys)
        raise AppError(
            "This code is not valid: it may be mistyped, already used, expired or withdrawn. "
            "Ask the patient for a new one.",
            status=404,
            field="code",
        )
    return share


async def revoke_share(
    pool: Pool, patient: User, share_id: UUID, address: str
) -> Share | TeamShare:
    """Withdraw a share, an unused code or a share with a clinic: the next request of the
    clinician (of every member of the clinic) is refused. Only the patient's own shares are
    found (a clinician has none to withdraw: 404)."""
    async with transaction(pool) as conn:
        share = await share_store.revoke(conn, share_id=share_id, patient_id=patient.id)
        if share is not None:
            await _audit(conn, patient, share, "share_revoke", address)
            return share
        team = await clinic_store.revoke_team_share(conn, share_id=share_id, patient_id=patient.id)
        if team is None:
            raise NotFound("No such share.")
        await audit.record(
            conn,
            actor=patient,
            patient_id=patient.id,
            action="clinic_share_revoke",
            address=address,
            detail={"share_id": str(team.id), "clinic": team.clinic_name},
        )
    return team


async def team_shares_for(pool: Pool, patient: User) -> list[TeamShare]:
    """The clinics the patient shares with now (the whole care team of each)."""
    async with transaction(pool) as conn:
        return await clinic_store.team_shares_of_patient(conn, patient.id)


def parse_share_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound("No such share.") from None


async def shares_for(pool: Pool, user: User) -> list[Share]:
    """A patient's shares and pending codes, or a clinician's patients."""
    async with transaction(pool) as conn:
        if user.role == "clinician":
            return await share_store.shares_of_clinician(conn, user.id)
        return await share_store.shares_of_patient(conn, user.id)


async def access_log(pool: Pool, patient: User, limit: int, before: int | None) -> AccessLog:
    """Who saw, exported or changed the patient's data, and sign-ins and sharing: newest first."""
    async with transaction(pool) as conn:
        events = await audit.events_of_patient(conn, patient.id, limit=limit + 1, before=before)
    more = len(events) > limit
    events = events[:limit]
    return AccessLog(
        items=[
            LogEntry(
                id=e.id,
                at=e.at,
                actor=LogActor(
                    id=e.actor_id,
                    name=e.actor_name,
                    role=e.actor_role,
                    clinic=(e.detail or {}).get("clinic") if e.actor_role == "clinician" else None,
                    clinic_roles=(e.detail or {}).get("roles"),
                ),
                action=e.action,
                address=e.address,
                detail=e.detail,
            )
            for e in events
        ],
        next=events[-1].id if more and events else None,
    )
