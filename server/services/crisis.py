"""The crisis resources a patient is shown at once when a PHQ-9 answer to item 9 is above 0:
the lines of their clinic's country and the clinic's phone (the clinic settings, issue 15), in
the patient's language (server/domain/safety.py). A patient of no clinic gets the US lines and
the phone they or the operator set."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

import msgspec

from server.db import Connection, Pool, transaction
from server.domain.accounts import User
from server.domain.safety import Safety, crisis_resources
from server.store import clinics as clinic_store


async def resources_for(
    conn: Connection, patient_id: UUID, phone: str | None, language: str
) -> Safety:
    """``phone``: the patient's own clinic number, else AFTERGLOW_CLINIC_PHONE; the clinic's
    own phone setting wins over both."""
    clinic = await clinic_store.clinic_of_patient(conn, patient_id)
    if clinic is None:
        return crisis_resources(phone, language)
    s = clinic.settings
    return crisis_resources(
        s.phone or phone, language, country=s.country, emergency=s.emergency_number
    )


Shown = TypeVar("Shown", bound=msgspec.Struct)


async def with_resources(pool: Pool, patient: User, shown: Shown, phone: str | None) -> Shown:
    """``shown`` (an entry as the API answers it) with its safety response, if it carries one,
    in the lines of the patient's clinic. Only an answer that needs one costs a query."""
    [found] = await all_with_resources(pool, patient, [shown], phone)
    return found


async def all_with_resources(
    pool: Pool, patient: User, shown: list[Shown], phone: str | None
) -> list[Shown]:
    """``with_resources`` for a page of entries: one query, if any of them needs it."""
    if all(getattr(each, "safety", None) is None for each in shown):
        return shown
    async with transaction(pool) as conn:
        safety = await resources_for(conn, patient.id, phone, patient.language)
    return [
        each
        if getattr(each, "safety", None) is None
        else msgspec.structs.replace(each, safety=safety)
        for each in shown
    ]
