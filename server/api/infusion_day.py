"""Infusion day (issue 16): treatment plans, the chair record, the day-before checklist and the
companion's answer.

- Clinic staff: ``POST|GET /api/v1/patients/{id}/courses`` (plan a course; the courses with
  their verdicts), ``PUT|GET /api/v1/patients/{id}/infusions/{infusion_id}/record``.
- The patient: ``GET /api/v1/me/course`` ("session 3 of 6"), ``GET /api/v1/me/infusion-changes``
  (who else made the change that stands), ``GET|PUT
  /api/v1/infusions/{id}/checklist``, ``DELETE /api/v1/infusions/{id}/companion``,
  ``PUT /api/v1/infusions/{id}/home-safely``.
- The companion (no account; the token from their email): ``POST /api/v1/ride`` and
  ``POST /api/v1/ride/answer``.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from litestar.types import ControllerRouterHandler

from server.domain.chair import SessionRecordIn
from server.domain.companions import ChecklistIn, Reply, question
from server.domain.courses import CourseOutcome, CoursePlan, CourseProgress
from server.problems import reader_language
from server.services import chair, clinic_schedule, companions, courses
from server.services.chair import RecordOut
from server.services.companions import DayBefore
from server.services.courses import PlannedCourse
from server.web import (
    AppSettings,
    CurrentUser,
    DbPool,
    Input,
    JSONBody,
    client_address,
    clinicians_only,
    patients_only,
)

AnyRequest = Request[Any, Any, Any]
Token = Annotated[str, msgspec.Meta(min_length=20, max_length=100)]


class ChairController(Controller):
    path = "/api/v1/patients/{patient_id:str}"
    tags = ["infusion day"]
    guards = [clinicians_only]

    @post("/courses", status_code=HTTP_201_CREATED)
    async def plan(
        self,
        request: AnyRequest,
        patient_id: str,
        data: JSONBody[CoursePlan],
        user: CurrentUser,
        pool: DbPool,
    ) -> PlannedCourse:
        """Plan a course (prescribers): its sessions become the patient's planned infusions,
        each with its reminders."""
        return await courses.plan_course(
            pool, user, patient_id, data, address=client_address(request)
        )

    @get("/courses")
    async def list_courses(
        self, request: AnyRequest, patient_id: str, user: CurrentUser, pool: DbPool
    ) -> list[CourseOutcome]:
        """The patient's courses, newest first, each judged against its own baseline."""
        return await courses.courses_of(pool, user, patient_id, address=client_address(request))

    @put("/infusions/{infusion_id:str}/record", status_code=HTTP_200_OK)
    async def save_record(
        self,
        request: AnyRequest,
        patient_id: str,
        infusion_id: str,
        data: JSONBody[SessionRecordIn],
        user: CurrentUser,
        pool: DbPool,
    ) -> RecordOut:
        """Create or replace the session's chair record (nurses and prescribers). Out-of-range
        values are 422 naming the field; a high blood pressure before dosing is a warning."""
        return await chair.save_record(
            pool, user, patient_id, infusion_id, data, address=client_address(request)
        )

    @get("/infusions/{infusion_id:str}/record")
    async def get_record(
        self,
        request: AnyRequest,
        patient_id: str,
        infusion_id: str,
        user: CurrentUser,
        pool: DbPool,
    ) -> RecordOut:
        return await chair.record_of(
            pool, user, patient_id, infusion_id, address=client_address(request)
        )


class HomeSafelyIn(Input):
    home: bool


class InfusionChange(msgspec.Struct, frozen=True, kw_only=True):
    infusion_id: UUID
    changed_by: str


class DayBeforeController(Controller):
    path = "/api/v1"
    tags = ["infusion day"]
    guards = [patients_only]

    @get("/me/course")
    async def my_course(self, user: CurrentUser, pool: DbPool) -> CourseProgress | None:
        """Your current course: how many sessions, how many done, and the next one."""
        return await courses.my_course(pool, user)

    @get("/me/infusion-changes")
    async def infusion_changes(self, user: CurrentUser, pool: DbPool) -> list[InfusionChange]:
        """Your sessions whose current time or status someone else set (clinic staff, your
        psychiatrist), and who."""
        found = await clinic_schedule.changes_seen_by_patient(pool, user)
        return [InfusionChange(infusion_id=i, changed_by=name) for i, name in found.items()]

    @get("/infusions/{infusion_id:str}/checklist")
    async def checklist(
        self, infusion_id: str, user: CurrentUser, pool: DbPool, settings: AppSettings
    ) -> DayBefore:
        return await companions.day_before(pool, user, infusion_id, settings)

    @put("/infusions/{infusion_id:str}/checklist", status_code=HTTP_200_OK)
    async def save_checklist(
        self,
        infusion_id: str,
        data: JSONBody[ChecklistIn],
        user: CurrentUser,
        pool: DbPool,
        settings: AppSettings,
    ) -> DayBefore:
        """Your ride home and anything to tell the clinic. Naming a driver emails them a link
        to answer yes or no (nothing about your health)."""
        return await companions.save_checklist(pool, user, infusion_id, data, settings)

    @delete("/infusions/{infusion_id:str}/companion", status_code=HTTP_204_NO_CONTENT)
    async def revoke(self, infusion_id: str, user: CurrentUser, pool: DbPool) -> None:
        """Withdraw the link you sent your driver: it stops working at once."""
        await companions.revoke_companion(pool, user, infusion_id)

    @put("/infusions/{infusion_id:str}/home-safely", status_code=HTTP_204_NO_CONTENT)
    async def home_safely(
        self, infusion_id: str, data: JSONBody[HomeSafelyIn], user: CurrentUser, pool: DbPool
    ) -> None:
        await companions.home_safely(pool, user, infusion_id, data.home)


class RideIn(Input):
    token: Token


class AnswerIn(Input):
    token: Token
    answer: Reply


class RideOut(msgspec.Struct, kw_only=True):
    state: str  # open | answered | expired | revoked
    question: str | None  # the one sentence, while the link is live
    answer: Reply | None


@post("/api/v1/ride", status_code=HTTP_200_OK, tags=["infusion day"])
async def ride(request: AnyRequest, data: JSONBody[RideIn], pool: DbPool) -> RideOut:
    """What a companion's link asks (their first name, the clinic, a date and a time), in the
    language of their browser (a companion has no account)."""
    view = await companions.companion_request(pool, data.token)
    if view is None:
        return RideOut(state="unknown", question=None, answer=None)
    live = view.state in ("open", "answered")
    text = question(view, reader_language(request)) if live else None
    return RideOut(state=view.state, question=text, answer=view.answer)


@post("/api/v1/ride/answer", status_code=HTTP_200_OK, tags=["infusion day"])
async def ride_answer(data: JSONBody[AnswerIn], pool: DbPool) -> RideOut:
    """The companion's yes or no: once. 409 when already answered, 410 when expired or
    revoked, 404 for an unknown link."""
    outcome = await companions.companion_answer(pool, data.token, data.answer)
    companions.settle_answer(outcome)
    return RideOut(state="answered", question=None, answer=data.answer)


INFUSION_DAY_ROUTES: list[ControllerRouterHandler] = [
    ChairController,
    DayBeforeController,
    ride,
    ride_answer,
]
