"""The day before a session and the ride home (server/domain/companions.py): the patient's
checklist, the companion's link (asked by a neutral email, answered once on a page that needs
no account), the patient's "did you get home safely?", and the checklist's state for the
clinic's schedule."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Literal
from uuid import UUID, uuid4

import msgspec

from server.config import Settings
from server.db import Connection, Pool, connection, transaction
from server.domain.accounts import Access, User
from server.domain.checkins import check_text
from server.domain.clinic import instructions_in
from server.domain.companions import (
    ASK_STALE_AFTER,
    RIDESHARE_ADVICE,
    Checklist,
    ChecklistIn,
    CompanionView,
    Reply,
    letter,
    link_expires,
    ride_state,
)
from server.domain.logbook import INFUSIONS, parse_entry_id
from server.domain.mail import Letter, health_words, link
from server.domain.records import Infusion
from server.errors import AppError, Conflict, InvalidField, NotFound
from server.i18n import gettext
from server.services.access import own_access
from server.services.sessions import token_hash
from server.store import clinics as clinic_store
from server.store import companions as companion_store
from server.store import entries
from server.store import reminders as reminder_store
from server.store.mail import ClaimedMail
from server.timeutil import utc_now

COMPANION_PAGE = "ride"
NO_SESSION = "No such session."


class DayBefore(msgspec.Struct, frozen=True, kw_only=True):
    """What the day-before page shows and edits."""

    infusion: Infusion
    checklist: Checklist | None
    instructions: str | None  # the clinic's pre-session instructions, as it wrote them
    advice: str | None  # for a rideshare: not to drive, not to go alone if unwell
    ride_state: str


class ClinicFacts(msgspec.Struct, frozen=True):
    name: str
    instructions: str | None


async def clinic_facts(conn: Connection, patient: User, settings: Settings) -> ClinicFacts:
    """The name and pre-session instructions of the clinic the patient shares with (its
    settings, issue 15; the instructions in the patient's language, else the other one the
    clinic wrote); without one, the name every email is sent under."""
    clinic = await clinic_store.clinic_of_patient(conn, patient.id)
    if clinic is None:
        return ClinicFacts(settings.mail_display_name, None)
    return ClinicFacts(clinic.settings.name, instructions_in(clinic.settings, patient.language))


async def _session(conn: Connection, access: Access, raw_id: str) -> Infusion:
    infusion: Infusion | None = await entries.by_id(
        conn, INFUSIONS, access, parse_entry_id(raw_id, "infusion_id")
    )
    if infusion is None or infusion.status == "cancelled":
        raise NotFound(NO_SESSION)
    return infusion


def _day_before(
    infusion: Infusion, checklist: Checklist | None, clinic: ClinicFacts, language: str
) -> DayBefore:
    """The page's state, its words in the patient's ``language``."""
    rideshare = checklist is not None and checklist.ride == "rideshare"
    return DayBefore(
        infusion=infusion,
        checklist=checklist,
        instructions=clinic.instructions,
        advice=gettext(language, RIDESHARE_ADVICE) if rideshare else None,
        ride_state=ride_state(checklist, language),
    )


async def day_before(pool: Pool, patient: User, raw_id: str, settings: Settings) -> DayBefore:
    access = own_access(patient)
    async with transaction(pool) as conn:
        infusion = await _session(conn, access, raw_id)
        found = await companion_store.checklists(conn, access, [infusion.id])
        clinic = await clinic_facts(conn, patient, settings)
    return _day_before(infusion, found.get(infusion.id), clinic, patient.language)


async def save_checklist(
    pool: Pool, patient: User, raw_id: str, sent: ChecklistIn, settings: Settings
) -> DayBefore:
    """Save the checklist; naming a companion (a new name or address) asks them by email and
    revokes any earlier link; choosing another way home revokes it."""
    access = own_access(patient)
    async with transaction(pool) as conn:
        infusion = await _session(conn, access, raw_id)
        clinic = await clinic_facts(conn, patient, settings)
        found = await checklist_on(conn, access, infusion, sent, utc_now(), clinic=clinic.name)
        # A ride arranged or not decides whether "home safely?" is asked the day after.
        await reminder_store.replan_patient(conn, access.patient_id)
    return _day_before(infusion, found, clinic, patient.language)


async def checklist_on(
    conn: Connection,
    access: Access,
    infusion: Infusion,
    sent: ChecklistIn,
    now: datetime,
    *,
    clinic: str,
) -> Checklist | None:
    """``save_checklist`` in the caller's transaction (the API, the demo); ``clinic`` is the
    name the companion's question gives."""
    message = check_text(sent.message, "message", 1000)
    if sent.ride == "person" and sent.companion is None:
        raise InvalidField("companion", "Name the person who drives you home.")
    if infusion.scheduled_at <= now and sent.companion is not None:
        raise InvalidField("companion", "This session has started: too late to ask.")
    await companion_store.save_checklist(
        conn,
        access,
        infusion.id,
        ride=sent.ride,
        instructions_read=sent.instructions_read,
        message=message,
        now=now,
    )
    current = (await companion_store.live_links(conn, access, [infusion.id])).get(infusion.id)
    companion = sent.companion
    if sent.ride != "person":
        await companion_store.revoke(conn, access, infusion.id)
    elif companion is not None and (
        current is None
        or (current.name, current.email.lower()) != (companion.name, companion.email.lower())
    ):
        link_id = uuid4()
        await companion_store.add_link(
            conn,
            access,
            link_id=link_id,
            infusion_id=infusion.id,
            name=companion.name.strip(),
            email=companion.email.strip(),
            clinic=clinic,
            expires_at=link_expires(infusion.scheduled_at, infusion.duration_minutes),
        )
        await companion_store.ask(conn, link_id, ASK_STALE_AFTER)
    return (await companion_store.checklists(conn, access, [infusion.id])).get(infusion.id)


async def revoke_companion(pool: Pool, patient: User, raw_id: str) -> None:
    access = own_access(patient)
    async with transaction(pool) as conn:
        infusion = await _session(conn, access, raw_id)
        if not await companion_store.revoke(conn, access, infusion.id):
            raise NotFound("No companion has been asked for this session.")


async def home_safely(pool: Pool, patient: User, raw_id: str, home: bool) -> None:
    """The patient's answer the day after: did they get home safely?"""
    access = own_access(patient)
    async with transaction(pool) as conn:
        infusion = await _session(conn, access, raw_id)
        if not await companion_store.answer_home_safely(conn, access, infusion.id, home, utc_now()):
            raise NotFound("No checklist for this session.")
        await reminder_store.replan_patient(conn, access.patient_id)  # asked once: no reminder


async def ride_states(
    conn: Connection, access: Access, infusion_ids: list[UUID]
) -> dict[UUID, str]:
    """The schedule's words for each session's ride home ("ride: confirmed by Ana"), in the
    viewer's language."""
    found = await companion_store.checklists(conn, access, infusion_ids)
    return {i: ride_state(found.get(i), access.viewer.language) for i in infusion_ids}


# --- the companion's side: a link, no account ---------------------------------------------------

Outcome = Literal["answered", "already", "expired", "revoked", "unknown"]


async def companion_request(pool: Pool, token: str) -> CompanionView | None:
    async with connection(pool) as conn:
        return await companion_store.by_token(conn, token_hash(token))


async def companion_answer(pool: Pool, token: str, reply: Reply) -> Outcome:
    """The companion's yes or no: once, on a live, unrevoked link."""
    async with transaction(pool) as conn:
        outcome: Outcome = await companion_store.answer(conn, token_hash(token), reply)  # type: ignore[assignment]
    return outcome


def settle_answer(outcome: Outcome) -> None:
    """An answer that did not count, as the error the companion's page explains."""
    if outcome == "already":
        raise Conflict("This link has been answered already; it works once.")
    if outcome in ("expired", "revoked"):
        raise AppError(f"This link has {outcome.replace('revoked', 'been withdrawn')}.", status=410)
    if outcome == "unknown":
        raise NotFound("This link is not known.")


async def write_letter(pool: Pool, settings: Settings, mail: ClaimedMail, now: datetime) -> Letter:
    """The companion's email as the worker sends it: a new token for the link (only its hash
    stored) and the one neutral question. Refused if it would say anything about health."""
    token = secrets.token_urlsafe(32)
    async with transaction(pool) as conn:
        view = await companion_store.mint_token(conn, mail.id, token_hash(token))
    if view is None:
        raise AppError("The companion's link was revoked or has expired.", status=410)
    subject, body = letter(view, link(settings.public_url, COMPANION_PAGE, token))
    found = health_words(subject + body)
    if found:
        raise AppError(f"A companion's email may not mention {', '.join(found)}.", status=500)
    return Letter(subject=subject, body=body)
