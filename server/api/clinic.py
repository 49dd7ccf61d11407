"""The clinic as a team, in JSON: members and invitations, settings, the clinic's patients and
schedule, the requests inbox (`/api/v1/clinic/...`, members of a clinic); and the patient's
side: requests to the clinic, the clinic's phone and crisis lines, and consent to an
invitation. Who may do what is the roles table (server/domain/clinic.py)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, patch, post, put
from litestar.params import FromPath, Parameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from litestar.types import ControllerRouterHandler

from server.domain.clinic import ClinicRequest, CrisisLine
from server.services import clinic_requests, clinic_schedule, team
from server.services.clinic_requests import Answer, NewRequest
from server.services.team import SettingsForm
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
ClinicParam = Annotated[UUID | None, QueryParameter(name="clinic", required=False)]


class MembershipOut(msgspec.Struct, kw_only=True):
    clinic_id: UUID
    clinic_name: str
    roles: list[str]


class MemberOut(msgspec.Struct, kw_only=True):
    id: UUID
    display_name: str
    email: str
    roles: list[str]
    joined_at: datetime


class InvitationOut(msgspec.Struct, kw_only=True):
    id: UUID
    email: str | None
    roles: list[str]
    expires_at: datetime


class MembersOut(msgspec.Struct, kw_only=True):
    clinic: MembershipOut
    members: list[MemberOut]
    pending: list[InvitationOut]


class InviteIn(Input):
    email: Annotated[str, msgspec.Meta(max_length=320)]
    roles: Annotated[list[str], msgspec.Meta(max_length=4)]


class RolesIn(Input):
    roles: Annotated[list[str], msgspec.Meta(max_length=4)]


class SettingsIn(Input):
    name: Annotated[str, msgspec.Meta(max_length=200)]
    phone: Annotated[str, msgspec.Meta(max_length=60)] | None = None
    country: Annotated[str, msgspec.Meta(max_length=8)] = "US"
    emergency_number: Annotated[str, msgspec.Meta(max_length=30)] | None = None
    pre_session_instructions: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    pre_session_instructions_es: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    checkin_time: Annotated[str, msgspec.Meta(max_length=8)] | None = None
    day_before_reminder: bool = True
    two_hours_reminder: bool = True
    evening_after_reminder: bool = True
    on_call_email: Annotated[str, msgspec.Meta(max_length=320)] | None = None
    ketamine_min_mg_per_kg: float = 0.1
    ketamine_max_mg_per_kg: float = 1.0
    esketamine_doses: Annotated[list[int], msgspec.Meta(max_length=3)] = msgspec.field(
        default_factory=lambda: [28, 56, 84]
    )
    bp_systolic_threshold: int = 140
    bp_diastolic_threshold: int = 90


class SettingsOut(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    phone: str | None
    country: str
    emergency_number: str | None
    pre_session_instructions: str | None  # in English
    pre_session_instructions_es: str | None  # in Spanish
    checkin_time: time | None
    day_before_reminder: bool
    two_hours_reminder: bool
    evening_after_reminder: bool
    on_call_email: str | None
    ketamine_min_mg_per_kg: float
    ketamine_max_mg_per_kg: float
    esketamine_doses: tuple[int, ...]
    bp_systolic_threshold: int
    bp_diastolic_threshold: int


class PatientOut(msgspec.Struct, kw_only=True):
    patient_id: UUID
    display_name: str
    shared_since: datetime


class PatientInviteOut(msgspec.Struct, kw_only=True):
    link: str  # shown once: only its hash is kept
    expires_at: datetime


class BookingOut(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    patient_name: str
    scheduled_at: datetime
    duration_minutes: int
    status: str


class BookIn(Input):
    scheduled_at: datetime | None = None
    duration_minutes: Annotated[int, msgspec.Meta(ge=10, le=240)] | None = None
    status: Annotated[str, msgspec.Meta(max_length=20)] | None = None


class BookedOut(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    scheduled_at: datetime
    duration_minutes: int
    status: str


class RequestIn(Input):
    kind: Annotated[str, msgspec.Meta(max_length=20)]
    message: Annotated[str, msgspec.Meta(max_length=1000)]
    preferred_times: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class AnswerIn(Input):
    status: Annotated[str, msgspec.Meta(max_length=20)]
    reply: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class RequestOut(msgspec.Struct, kw_only=True):
    id: UUID
    clinic_name: str
    patient_id: UUID
    patient_name: str
    kind: str
    message: str
    preferred_times: str | None
    status: str
    reply: str | None
    replied_by_name: str | None
    replied_at: datetime | None
    created_at: datetime
    updated_at: datetime


class MyClinicOut(msgspec.Struct, kw_only=True):
    name: str | None
    phone: str | None
    crisis: list[CrisisLine]
    pre_session_instructions: str | None


class TokenIn(Input):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class ConsentOut(msgspec.Struct, kw_only=True):
    share_id: UUID


def _out(kind: type[Any], value: Any) -> Any:
    return msgspec.convert(value, kind, from_attributes=True)


def _request_out(found: ClinicRequest) -> RequestOut:
    out: RequestOut = _out(RequestOut, found)
    return out


class ClinicController(Controller):
    path = "/api/v1/clinic"
    tags = ["clinic"]
    guards = [clinicians_only]

    @get("")
    async def mine(self, user: CurrentUser, pool: DbPool) -> list[MembershipOut]:
        """The clinics you belong to, with your roles in each."""
        return [_out(MembershipOut, m) for m in await team.my_clinics(pool, user)]

    @get("/members")
    async def members(
        self, user: CurrentUser, pool: DbPool, clinic: ClinicParam = None
    ) -> MembersOut:
        """Members and pending invitations (admins)."""
        page = await team.members_of(pool, user, clinic)
        return _out(MembersOut, page)  # type: ignore[no-any-return]

    @post("/invitations", status_code=HTTP_201_CREATED)
    async def invite(
        self, user: CurrentUser, pool: DbPool, data: JSONBody[InviteIn], clinic: ClinicParam = None
    ) -> dict[str, UUID]:
        """Invite a member by email (admins): a single-use link for 7 days."""
        invitation = await team.invite_member(pool, user, data.email, data.roles, clinic)
        return {"id": invitation}

    @put("/members/{member_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def change_roles(
        self,
        member_id: FromPath[str],
        user: CurrentUser,
        pool: DbPool,
        data: JSONBody[RolesIn],
        clinic: ClinicParam = None,
    ) -> None:
        """A member's roles (admins); no roles removes the member."""
        await team.change_roles(pool, user, member_id, data.roles, clinic)

    @get("/settings")
    async def get_settings(
        self, user: CurrentUser, pool: DbPool, clinic: ClinicParam = None
    ) -> SettingsOut:
        found = await team.settings_of(pool, user, clinic)
        return SettingsOut(id=found.id, **msgspec.structs.asdict(found.settings))

    @put("/settings", status_code=HTTP_200_OK)
    async def put_settings(
        self,
        user: CurrentUser,
        pool: DbPool,
        data: JSONBody[SettingsIn],
        clinic: ClinicParam = None,
    ) -> SettingsOut:
        """The clinic's settings (admins); empty fields fall back to the environment."""
        form = msgspec.convert(msgspec.structs.asdict(data), SettingsForm)
        found = await team.change_settings(pool, user, form, clinic)
        return SettingsOut(id=found.id, **msgspec.structs.asdict(found.settings))

    @get("/patients")
    async def patients(
        self, user: CurrentUser, pool: DbPool, clinic: ClinicParam = None
    ) -> list[PatientOut]:
        """The patients who share with the clinic."""
        _, found = await team.clinic_patients(pool, user, clinic)
        return [_out(PatientOut, p) for p in found]

    @post("/patient-invitations", status_code=HTTP_201_CREATED)
    async def invite_patient(
        self, user: CurrentUser, pool: DbPool, settings: AppSettings, clinic: ClinicParam = None
    ) -> PatientInviteOut:
        """A single-use sign-up link for a patient (shown once)."""
        invite = await team.invite_patient(pool, settings, user, clinic)
        return PatientInviteOut(link=invite.link, expires_at=invite.expires_at)

    @get("/schedule")
    async def schedule(
        self,
        user: CurrentUser,
        pool: DbPool,
        start: Annotated[datetime, QueryParameter(name="from")],
        days: Annotated[int, Parameter(ge=1, le=clinic_schedule.MAX_DAYS)] = 7,
        clinic: ClinicParam = None,
    ) -> list[BookingOut]:
        """The clinic's infusions from ``from`` for ``days`` days."""
        _, found = await clinic_schedule.schedule(pool, user, start, days, clinic)
        return [_out(BookingOut, b) for b in found]

    @put("/schedule/{patient_id:str}/{infusion_id:str}", status_code=HTTP_200_OK)
    async def book(
        self,
        request: AnyRequest,
        patient_id: FromPath[str],
        infusion_id: FromPath[str],
        user: CurrentUser,
        pool: DbPool,
        data: JSONBody[BookIn],
    ) -> BookedOut:
        """Book, move, cancel or mark done one of a patient's infusions."""
        booked = await clinic_schedule.book(
            pool,
            user,
            patient_id,
            infusion_id,
            scheduled_at=data.scheduled_at,
            duration_minutes=data.duration_minutes,
            status=data.status,
            address=client_address(request),
        )
        return _out(BookedOut, booked)  # type: ignore[no-any-return]

    @get("/requests")
    async def inbox(
        self, request: AnyRequest, user: CurrentUser, pool: DbPool, clinic: ClinicParam = None
    ) -> list[RequestOut]:
        """Requests from the clinic's patients, of the kinds your roles take."""
        _, found = await clinic_requests.inbox(
            pool, user, client_address(request), clinic_id=clinic
        )
        return [_request_out(r) for r in found]

    @patch("/requests/{request_id:str}", status_code=HTTP_200_OK)
    async def answer(
        self,
        request: AnyRequest,
        request_id: FromPath[str],
        user: CurrentUser,
        pool: DbPool,
        data: JSONBody[AnswerIn],
    ) -> RequestOut:
        """A request's status and a reply the patient sees."""
        given = Answer(status=data.status, reply=data.reply)
        found = await clinic_requests.answer(pool, user, request_id, given, client_address(request))
        return _request_out(found)


class PatientClinicController(Controller):
    path = "/api/v1"
    tags = ["clinic"]
    guards = [patients_only]

    @get("/requests")
    async def own_requests(self, user: CurrentUser, pool: DbPool) -> list[RequestOut]:
        """Your requests to the clinic and its replies, newest first."""
        return [_request_out(r) for r in await clinic_requests.own_requests(pool, user)]

    @post("/requests", status_code=HTTP_201_CREATED)
    async def send_request(
        self, request: AnyRequest, user: CurrentUser, pool: DbPool, data: JSONBody[RequestIn]
    ) -> RequestOut:
        """Ask the clinic for a follow-up appointment or raise a medication concern (not for
        emergencies)."""
        new = NewRequest(kind=data.kind, message=data.message, preferred_times=data.preferred_times)
        return _request_out(await clinic_requests.send(pool, user, new, client_address(request)))

    @get("/me/clinic")
    async def my_clinic(
        self, user: CurrentUser, pool: DbPool, settings: AppSettings
    ) -> MyClinicOut:
        """Your clinic's name and phone, and the crisis lines of its country."""
        found = await team.clinic_for_patient(pool, settings, user)
        return _out(MyClinicOut, found)  # type: ignore[no-any-return]

    @post("/invitations/consent", status_code=HTTP_201_CREATED)
    async def consent(
        self, request: AnyRequest, user: CurrentUser, pool: DbPool, data: JSONBody[TokenIn]
    ) -> ConsentOut:
        """Share with the inviting clinic's care team, from now on."""
        share = await team.consent(pool, user, data.token, client_address(request))
        return ConsentOut(share_id=share)


CLINIC_ROUTES: list[ControllerRouterHandler] = [ClinicController, PatientClinicController]
