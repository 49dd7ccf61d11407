"""Questionnaires: the instruments (public), and the patient's PHQ-9 / GAD-7 answers.

Storing a PHQ-9 whose item 9 is above 0 answers with the crisis resources in the same response
(and in the sync result), so the app can show them at once. Patient-only, like check-ins.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Response, delete, get, put
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from server import security
from server.access import Access, own_access
from server.api import AppSettings, CurrentUser, DbPool, JSONBody
from server.api.checkins import SUPERSEDED
from server.api.entries import (
    PAGE_DEFAULT,
    PAGE_MAX,
    Page,
    change_time,
    day_range,
    paginate,
    parse_day,
    parse_entry_id,
    read_page_token,
)
from server.config import Settings
from server.db import Connection, connection, transaction
from server.domain.accounts import User
from server.domain.checkins import AwareDateTime
from server.domain.instruments import (
    INSTRUMENTS,
    AssessmentContent,
    Instrument,
    assessment_record,
    check_assessment,
    needs_safety_response,
)
from server.domain.records import Assessment, InstrumentId
from server.domain.safety import Safety, clinic_phone_for, crisis_resources
from server.domain.sync import content_version
from server.problems import Conflict, NotFound
from server.store import assessments as assessment_store
from server.store.alerts import alert_sharing_clinicians
from server.store.sync import Written
from server.timeutil import utc_now


class AssessmentPut(AssessmentContent, frozen=True, kw_only=True, forbid_unknown_fields=True):
    updated_at: AwareDateTime | None = None


class AssessmentOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: UUID
    instrument: InstrumentId
    answers: tuple[int, ...]
    total: int
    band: str
    band_label: str
    taken_at: datetime
    local_day: date
    updated_at: datetime
    safety: Safety | None = None  # present when PHQ-9 item 9 is above 0


class InstrumentList(msgspec.Struct):
    instruments: list[Instrument]


def safety_for(assessment: Assessment, patient: User, settings: Settings) -> Safety | None:
    if not needs_safety_response(assessment.instrument, assessment.answers):
        return None
    return crisis_resources(clinic_phone_for(patient.clinic_phone, settings.clinic_phone))


def assessment_out(assessment: Assessment, patient: User, settings: Settings) -> AssessmentOut:
    instrument = INSTRUMENTS[assessment.instrument]
    label = next(band.label for band in instrument.bands if band.id == assessment.band)
    return AssessmentOut(
        id=assessment.id,
        instrument=assessment.instrument,
        answers=assessment.answers,
        total=assessment.total,
        band=assessment.band,
        band_label=label,
        taken_at=assessment.taken_at,
        local_day=assessment.local_day,
        updated_at=assessment.updated_at,
        safety=safety_for(assessment, patient, settings),
    )


async def record_assessment(
    conn: Connection,
    access: Access,
    zone: ZoneInfo,
    assessment_id: UUID,
    content: AssessmentContent,
    *,
    updated_at: datetime,
    now: datetime,
) -> tuple[Written, Assessment | None]:
    """Validate, score and save one assessment (the PUT endpoint and sync both come here)."""
    content, result = check_assessment(content, now)
    record = assessment_record(
        content,
        result,
        assessment_id=assessment_id,
        patient_id=access.patient_id,
        zone=zone,
        updated_at=updated_at,
    )
    written, stored = await assessment_store.save_assessment(
        conn, access, record, content_version(content)
    )
    if stored is not None and needs_safety_response(stored.instrument, stored.answers):
        # Item 9 above 0: every clinician with an active share is alerted now (sharing).
        await alert_sharing_clinicians(conn, access.patient_id, stored.local_day, now)
    return written, stored


@get(
    "/api/v1/instruments",
    tags=["log"],
    cache_control=CacheControlHeader(max_age=3600, public=True),
)
async def list_instruments() -> InstrumentList:
    """PHQ-9 and GAD-7: items, answer options and severity bands (no patient data)."""
    return InstrumentList(instruments=list(INSTRUMENTS.values()))


class AssessmentController(Controller):
    path = "/api/v1/assessments"
    tags = ["log"]
    dependencies = {"user": Provide(security.provide_patient)}

    @put("/{assessment_id:str}", status_code=HTTP_200_OK)
    async def put_assessment(
        self,
        assessment_id: FromPath[str],
        data: JSONBody[AssessmentPut],
        user: CurrentUser,
        pool: DbPool,
        settings: AppSettings,
    ) -> Response[AssessmentOut]:
        """Store answers; the response has the total, the band and, if needed, ``safety``."""
        entry_id = parse_entry_id(assessment_id)
        access = own_access(user)
        now = utc_now()
        updated_at = change_time(data.updated_at, now)
        async with connection(pool) as conn:
            written, stored = await record_assessment(
                conn, access, user.zone, entry_id, data, updated_at=updated_at, now=now
            )
            if written.outcome == "superseded":
                raise Conflict(SUPERSEDED, field="updated_at")
            if stored is None:
                stored = await assessment_store.assessment_by_id(conn, access, entry_id)
        if stored is None:
            raise NotFound()
        status = HTTP_201_CREATED if written.inserted else HTTP_200_OK
        return Response(assessment_out(stored, user, settings), status_code=status)

    @get("/{assessment_id:str}")
    async def get_assessment(
        self, assessment_id: FromPath[str], user: CurrentUser, pool: DbPool, settings: AppSettings
    ) -> AssessmentOut:
        entry_id = parse_entry_id(assessment_id)
        access = own_access(user)
        async with transaction(pool) as conn:
            found = await assessment_store.assessment_by_id(conn, access, entry_id)
        if found is None:
            raise NotFound("No such assessment.")
        return assessment_out(found, user, settings)

    @get("")
    async def list_assessments(
        self,
        user: CurrentUser,
        pool: DbPool,
        settings: AppSettings,
        instrument: FromQuery[InstrumentId | None] = None,
        first: Annotated[str | None, QueryParameter(name="from", max_length=10)] = None,
        last: Annotated[str | None, QueryParameter(name="to", max_length=10)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> Page[AssessmentOut]:
        """Assessments on local days ``from``..``to`` (default: last 30 days), newest first."""
        access = own_access(user)
        first_day, last_day = day_range(
            parse_day(first, "from"), parse_day(last, "to"), user.zone, utc_now()
        )
        before = read_page_token(cursor)
        async with transaction(pool) as conn:
            items = await assessment_store.assessments_between(
                conn,
                access,
                first_day,
                last_day,
                instrument=instrument,
                limit=limit + 1,
                before=before,
            )
        page = paginate(items, limit, lambda item: (item.taken_at, item.id))
        return Page(items=[assessment_out(a, user, settings) for a in page.items], next=page.next)

    @delete("/{assessment_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_assessment(
        self, assessment_id: FromPath[str], user: CurrentUser, pool: DbPool
    ) -> None:
        entry_id = parse_entry_id(assessment_id)
        access = own_access(user)
        async with transaction(pool) as conn:
            deleted = await assessment_store.is_deleted(conn, access, entry_id)
            if deleted is None:
                raise NotFound("No such assessment.")
            if not deleted:
                written = await assessment_store.delete_assessment(
                    conn, access, entry_id, utc_now()
                )
                if written.outcome == "superseded":
                    raise Conflict(SUPERSEDED)
