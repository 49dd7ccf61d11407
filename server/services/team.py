"""The clinic as a team: making a clinic, which clinic a member acts for, members and their
roles, invitations (members by email, patients by link or QR code), consent to a team share,
and the clinic's settings.

Every step is checked against the roles table (server/domain/clinic.py): a member whose roles
do not include it gets 403; someone who is no member of any clinic, 404.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID

import msgspec

from server.config import Settings
from server.db import Connection, Pool, transaction
from server.domain.accounts import User, check_display_name, check_password, normalise_email
from server.domain.clinic import (
    BP_THRESHOLD,
    ESKETAMINE_DOSES,
    KETAMINE_MG_PER_KG,
    Clinic,
    ClinicSettings,
    CrisisLine,
    Right,
    check_instructions,
    check_limits,
    check_name,
    check_phone,
    check_roles,
    crisis_lines,
    instructions_in,
    may,
)
from server.errors import AppError, Forbidden, InvalidField, NotFound
from server.i18n import DEFAULT
from server.services import passwords, sessions
from server.services.access import NOT_YOUR_ROLE
from server.services.reminders import change_prefs
from server.services.sessions import NewSession
from server.store import audit
from server.store import clinic_invitations as invitation_store
from server.store import clinics as clinic_store
from server.store.clinic_invitations import Invitation, PatientInvitation
from server.store.clinics import Member, Membership, TeamPatient
from server.timeutil import utc_now

MEMBER_INVITATION_LIFETIME = timedelta(days=7)
PATIENT_INVITATION_LIFETIME = timedelta(days=30)
NO_CLINIC = "You are not a member of a clinic."
DEAD_LINK = "This invitation is not valid: it may be mistyped, already used or expired."


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def parse_uuid(raw: str, what: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound(f"No such {what}.") from None


async def create_clinic(conn: Connection, name: str, admin: User, roles: list[str]) -> UUID:
    """A clinic and its first member (operator connections: `create-clinic`, the demo)."""
    clinic_id = await clinic_store.create_clinic(conn, check_name(name))
    await clinic_store.add_member(conn, clinic_id, admin.id, check_roles(roles))
    return clinic_id


async def membership(
    conn: Connection, user: User, right: Right | None, clinic_id: UUID | None = None
) -> Membership:
    """The clinic ``user`` acts for (``clinic_id``, or their first one), checked for ``right``:
    404 for someone in no clinic (or not in that one), 403 for a role without the right."""
    found = await clinic_store.memberships(conn, user.id)
    if clinic_id is not None:
        found = [m for m in found if m.clinic_id == clinic_id]
    if not found:
        raise NotFound(NO_CLINIC)
    if right is None:
        return found[0]
    for each in found:
        if may(each.roles, right):
            return each
    raise Forbidden(NOT_YOUR_ROLE)


async def my_clinics(pool: Pool, user: User) -> list[Membership]:
    async with transaction(pool) as conn:
        return await clinic_store.memberships(conn, user.id)


# --- members ----------------------------------------------------------------------------------


class MembersPage(msgspec.Struct, frozen=True, kw_only=True):
    clinic: Membership
    members: list[Member]
    pending: list[Invitation]


async def members_of(pool: Pool, admin: User, clinic_id: UUID | None = None) -> MembersPage:
    async with transaction(pool) as conn:
        clinic = await membership(conn, admin, "members_read", clinic_id)
        return MembersPage(
            clinic=clinic,
            members=await clinic_store.members(conn, clinic.clinic_id),
            pending=await invitation_store.pending_members(conn, clinic.clinic_id),
        )


async def invite_member(
    pool: Pool, admin: User, email: str, roles: list[str], clinic_id: UUID | None = None
) -> UUID:
    """An invitation by email, single-use, for ``MEMBER_INVITATION_LIFETIME``."""
    address = normalise_email(email)
    chosen = check_roles(roles)
    async with transaction(pool) as conn:
        clinic = await membership(conn, admin, "members_write", clinic_id)
        return await invitation_store.invite_member(
            conn,
            clinic_id=clinic.clinic_id,
            email=address,
            roles=list(chosen),
            invited_by=admin.id,
            expires_at=utc_now() + MEMBER_INVITATION_LIFETIME,
        )


async def change_roles(
    pool: Pool, admin: User, raw_member: str, roles: list[str], clinic_id: UUID | None = None
) -> None:
    """New roles for a member; no roles removes them. The last admin stays."""
    member_id = parse_uuid(raw_member, "member")
    chosen = check_roles(roles) if roles else []
    async with transaction(pool) as conn:
        clinic = await membership(conn, admin, "members_write", clinic_id)
        if chosen:
            found = await clinic_store.set_roles(conn, clinic.clinic_id, member_id, list(chosen))
        else:
            found = await clinic_store.remove_member(conn, clinic.clinic_id, member_id)
        if not found:
            raise NotFound("No such member.")
        if await clinic_store.admins_left(conn, clinic.clinic_id) == 0:
            raise InvalidField("roles", "A clinic keeps at least one admin.")


async def withdraw_invitation(
    pool: Pool, admin: User, raw_id: str, clinic_id: UUID | None = None
) -> None:
    invitation_id = parse_uuid(raw_id, "invitation")
    async with transaction(pool) as conn:
        clinic = await membership(conn, admin, "members_write", clinic_id)
        if not await invitation_store.withdraw(conn, clinic.clinic_id, invitation_id):
            raise NotFound("No such invitation.")


async def join(
    pool: Pool, settings: Settings, *, token: str, display_name: str, password: str, timezone: str
) -> tuple[User, NewSession]:
    """The invitee's account (a clinician) made a member with the invitation's roles, and a
    session for it. Where a second factor is required, the pages send them to set one up."""
    name = check_display_name(display_name)
    check_password(password)
    if not token:
        raise AppError(DEAD_LINK, status=404, field="token")
    password_hash = await passwords.hash_password(password)
    async with transaction(pool) as conn:
        user = await invitation_store.join(
            conn,
            token_hash=token_hash(token),
            password_hash=password_hash,
            display_name=name,
            timezone=timezone,
        )
    if user is None:
        raise AppError(DEAD_LINK, status=404, field="token")
    return user, await sessions.start_session(pool, settings, user, password_hash)


# --- patients ---------------------------------------------------------------------------------


class PatientInvite(msgspec.Struct, frozen=True, kw_only=True):
    link: str
    clinic_name: str
    expires_at: datetime


async def invite_patient(
    pool: Pool, settings: Settings, staff: User, clinic_id: UUID | None = None
) -> PatientInvite:
    """A single-use link to hand out at the consultation (shown once, as a link and a QR code;
    only its hash is kept). The token is in the fragment, which never reaches a server log."""
    token = secrets.token_urlsafe(24)
    expires_at = utc_now() + PATIENT_INVITATION_LIFETIME
    async with transaction(pool) as conn:
        clinic = await membership(conn, staff, "schedule_write", clinic_id)
        await invitation_store.invite_patient(
            conn,
            clinic_id=clinic.clinic_id,
            token_hash=token_hash(token),
            invited_by=staff.id,
            expires_at=expires_at,
        )
    return PatientInvite(
        link=f"{settings.public_url}/join#token={token}",
        clinic_name=clinic.clinic_name,
        expires_at=expires_at,
    )


async def patient_invitation(pool: Pool, patient: User, token: str) -> PatientInvitation:
    """What the consent screen shows: which clinic asks."""
    async with transaction(pool) as conn:
        found = await invitation_store.patient_invitation(conn, token_hash(token))
    if found is None or patient.role != "patient":
        raise AppError(DEAD_LINK, status=404, field="token")
    return found


async def consent(pool: Pool, patient: User, token: str, address: str) -> UUID:
    """The patient's consent: the team share starts now, the invitation is used up, the
    clinic's default reminder times apply where the patient has chosen none, and the step is in
    the patient's access log."""
    async with transaction(pool) as conn:
        found = await invitation_store.patient_invitation(conn, token_hash(token))
        share_id = await invitation_store.consent(conn, token_hash(token))
        if found is None or share_id is None:
            raise AppError(DEAD_LINK, status=404, field="token")
        clinic = await clinic_store.clinic(conn, found.clinic_id)
        if clinic is not None:
            await change_prefs(conn, patient.id, _reminder_defaults(clinic.settings))
        await audit.record(
            conn,
            actor=patient,
            patient_id=patient.id,
            action="clinic_share_start",
            address=address,
            detail={"share_id": str(share_id), "clinic": found.clinic_name},
        )
    return share_id


def _reminder_defaults(settings: ClinicSettings) -> dict[str, Any]:
    changes: dict[str, Any] = {
        "infusion_day_before": settings.day_before_reminder,
        "infusion_two_hours": settings.two_hours_reminder,
        "infusion_evening_after": settings.evening_after_reminder,
    }
    if settings.checkin_time is not None:
        changes["daily_checkin_time"] = settings.checkin_time.strftime("%H:%M")
    return changes


async def clinic_patients(
    pool: Pool, staff: User, clinic_id: UUID | None = None
) -> tuple[Membership, list[TeamPatient]]:
    """The clinic's patients (names, since when): every role that sees the schedule."""
    async with transaction(pool) as conn:
        clinic = await membership(conn, staff, "schedule_read", clinic_id)
        return clinic, await clinic_store.team_patients(conn, clinic.clinic_id)


# --- settings ---------------------------------------------------------------------------------


class SettingsForm(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    phone: str | None = None
    country: str = "US"
    emergency_number: str | None = None
    pre_session_instructions: str | None = None
    pre_session_instructions_es: str | None = None
    checkin_time: str | None = None
    day_before_reminder: bool = True
    two_hours_reminder: bool = True
    evening_after_reminder: bool = True
    on_call_email: str | None = None
    ketamine_min_mg_per_kg: float = KETAMINE_MG_PER_KG[0]
    ketamine_max_mg_per_kg: float = KETAMINE_MG_PER_KG[1]
    esketamine_doses: list[int] = msgspec.field(default_factory=lambda: list(ESKETAMINE_DOSES))
    bp_systolic_threshold: int = BP_THRESHOLD[0]
    bp_diastolic_threshold: int = BP_THRESHOLD[1]


def check_settings(form: SettingsForm) -> ClinicSettings:
    if form.country not in ("US", "CA", "GB", "other"):
        raise InvalidField("country", "Choose US, CA, GB or other.")
    emergency = check_phone(form.emergency_number, "emergency_number")
    if form.country == "other" and emergency is None:
        raise InvalidField("emergency_number", "Enter the local emergency number.")
    checkin = None
    if form.checkin_time:
        try:
            checkin = time.fromisoformat(form.checkin_time)
        except ValueError:
            raise InvalidField("checkin_time", "Enter a time like 19:00.") from None
    on_call = normalise_email(form.on_call_email, "on_call_email") if form.on_call_email else None
    k_min, k_max, doses, systolic, diastolic = check_limits(
        form.ketamine_min_mg_per_kg,
        form.ketamine_max_mg_per_kg,
        form.esketamine_doses,
        form.bp_systolic_threshold,
        form.bp_diastolic_threshold,
    )
    return ClinicSettings(
        name=check_name(form.name),
        phone=check_phone(form.phone, "phone"),
        country=form.country,  # type: ignore[arg-type]
        emergency_number=emergency,
        pre_session_instructions=check_instructions(form.pre_session_instructions),
        pre_session_instructions_es=check_instructions(
            form.pre_session_instructions_es, "pre_session_instructions_es"
        ),
        checkin_time=checkin,
        day_before_reminder=form.day_before_reminder,
        two_hours_reminder=form.two_hours_reminder,
        evening_after_reminder=form.evening_after_reminder,
        on_call_email=on_call,
        ketamine_min_mg_per_kg=k_min,
        ketamine_max_mg_per_kg=k_max,
        esketamine_doses=doses,
        bp_systolic_threshold=systolic,
        bp_diastolic_threshold=diastolic,
    )


async def settings_of(pool: Pool, admin: User, clinic_id: UUID | None = None) -> Clinic:
    async with transaction(pool) as conn:
        clinic = await membership(conn, admin, "members_read", clinic_id)
        found = await clinic_store.clinic(conn, clinic.clinic_id)
    assert found is not None
    return found


async def change_settings(
    pool: Pool, admin: User, form: SettingsForm, clinic_id: UUID | None = None
) -> Clinic:
    new = check_settings(form)
    async with transaction(pool) as conn:
        clinic = await membership(conn, admin, "members_write", clinic_id)
        await clinic_store.update_settings(conn, clinic.clinic_id, new)
        found = await clinic_store.clinic(conn, clinic.clinic_id)
    assert found is not None
    return found


class PatientClinic(msgspec.Struct, frozen=True, kw_only=True):
    """The patient's clinic as their pages show it: the phone (the clinic's wins over
    AFTERGLOW_CLINIC_PHONE), the crisis lines of the clinic's country, the instructions."""

    clinic_id: UUID | None
    name: str | None
    phone: str | None
    crisis: list[CrisisLine]
    pre_session_instructions: str | None  # in the patient's language, else the other one


async def clinic_for_patient(pool: Pool, settings: Settings, patient: User) -> PatientClinic:
    async with transaction(pool) as conn:
        clinic = await clinic_store.clinic_of_patient(conn, patient.id)
    return patient_clinic(clinic, settings, patient.language)


def patient_clinic(
    clinic: Clinic | None, settings: Settings, language: str = DEFAULT
) -> PatientClinic:
    if clinic is None:
        return PatientClinic(
            clinic_id=None,
            name=None,
            phone=settings.clinic_phone,
            crisis=crisis_lines("US", settings.clinic_phone, None),
            pre_session_instructions=None,
        )
    s = clinic.settings
    phone = s.phone or settings.clinic_phone
    return PatientClinic(
        clinic_id=clinic.id,
        name=s.name,
        phone=phone,
        crisis=crisis_lines(s.country, phone, s.emergency_number),
        pre_session_instructions=instructions_in(s, language),
    )


def on_call_address(clinic: Clinic | None, settings: Settings) -> str | None:
    """Where unacknowledged alerts go: the clinic's on-call address, else
    AFTERGLOW_CLINIC_ALERT_EMAIL."""
    if clinic is not None and clinic.settings.on_call_email:
        return clinic.settings.on_call_email
    return settings.clinic_alert_email
