"""Requests to the clinic: a patient asks for a follow-up appointment or raises a concern about
their medication; the members whose roles take that kind read it in the clinic's inbox, move
its status (open, in progress, done) and reply; the patient sees the reply in the app.

The clinic hears of a new request by a neutral email to each member who takes its kind
(migrations/0023: afterglow_notify_request). Requests are not for emergencies: the form says so
and shows the crisis resources.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from server.db import Pool, transaction
from server.domain.accounts import User
from server.domain.clinic import (
    ANSWER_RIGHT,
    MESSAGE_MAX,
    PREFERRED_MAX,
    READ_RIGHT,
    REPLY_MAX,
    REQUEST_KINDS,
    REQUEST_STATUSES,
    ClinicRequest,
    check_text,
    may,
)
from server.errors import Forbidden, InvalidField, NotFound
from server.services.access import NOT_YOUR_ROLE, own_access
from server.services.team import membership, parse_uuid
from server.store import audit
from server.store import clinic_requests as request_store
from server.store import clinics as clinic_store
from server.store.clinics import Membership
from server.timeutil import utc_now

NO_CLINIC = "Share with your clinic first: requests go to the clinic's care team."


class NewRequest(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    message: str
    preferred_times: str | None = None


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    reply: str | None = None


async def send(pool: Pool, patient: User, new: NewRequest, address: str) -> ClinicRequest:
    """A patient's request to the clinic they share with."""
    own_access(patient)
    if new.kind not in REQUEST_KINDS:
        raise InvalidField("kind", "Choose appointment or medication.")
    message = check_text(new.message, "message", MESSAGE_MAX, required=True)
    preferred = check_text(new.preferred_times, "preferred_times", PREFERRED_MAX, required=False)
    assert message is not None
    async with transaction(pool) as conn:
        clinic = await clinic_store.clinic_of_patient(conn, patient.id)
        if clinic is None:
            raise InvalidField("kind", NO_CLINIC)
        sent = await request_store.send(
            conn,
            clinic_id=clinic.id,
            patient_id=patient.id,
            kind=new.kind,
            message=message,
            preferred_times=preferred,
        )
        await audit.record(
            conn,
            actor=patient,
            patient_id=patient.id,
            action="request_send",
            address=address,
            detail={"request_id": str(sent.id), "kind": sent.kind},
        )
    return sent


async def own_requests(pool: Pool, patient: User) -> list[ClinicRequest]:
    own_access(patient)
    async with transaction(pool) as conn:
        return await request_store.of_patient(conn, patient.id)


def _kinds(clinic: Membership) -> list[str]:
    return [k for k in REQUEST_KINDS if may(clinic.roles, READ_RIGHT[k])]


async def inbox(
    pool: Pool, staff: User, address: str, *, open_only: bool = False, clinic_id: UUID | None = None
) -> tuple[Membership, list[ClinicRequest]]:
    """The clinic's requests of the kinds the member's roles take (403 for the others); each
    patient listed gets one audit row."""
    async with transaction(pool) as conn:
        clinic = await membership(conn, staff, "appointment_read", clinic_id)
        found = await request_store.inbox(
            conn, clinic.clinic_id, _kinds(clinic), open_only=open_only
        )
        for patient_id in dict.fromkeys(r.patient_id for r in found):
            await audit.record(
                conn,
                actor=staff,
                patient_id=patient_id,
                action="view_requests",
                address=address,
                detail={"roles": list(clinic.roles), "clinic": clinic.clinic_name},
            )
    return clinic, found


async def answer(
    pool: Pool, staff: User, raw_id: str, given: Answer, address: str
) -> ClinicRequest:
    """A new status and, optionally, a reply the patient sees. 404 for a request the member's
    clinic does not hold (or of a patient who no longer shares with it), 403 for a kind their
    roles may not answer."""
    request_id = parse_uuid(raw_id, "request")
    if given.status not in REQUEST_STATUSES:
        raise InvalidField("status", "Choose open, in_progress or done.")
    reply = check_text(given.reply, "reply", REPLY_MAX, required=False)
    async with transaction(pool) as conn:
        located = await request_store.located(conn, request_id)
        memberships = await clinic_store.memberships(conn, staff.id)
        clinic = next((m for m in memberships if located and m.clinic_id == located[0]), None)
        if located is None or clinic is None:
            raise NotFound("No such request.")
        if not may(clinic.roles, ANSWER_RIGHT[located[1]]):  # type: ignore[index]
            raise Forbidden(NOT_YOUR_ROLE)
        answered = await request_store.answer(
            conn,
            request_id,
            status=given.status,
            reply=reply,
            by=staff.id,
            by_name=staff.display_name,
            now=utc_now(),
        )
        if answered is None:
            raise NotFound("No such request.")
        await audit.record(
            conn,
            actor=staff,
            patient_id=answered.patient_id,
            action="request_answer",
            address=address,
            detail={
                "request_id": str(answered.id),
                "status": answered.status,
                "roles": list(clinic.roles),
                "clinic": clinic.clinic_name,
            },
        )
    return answered
