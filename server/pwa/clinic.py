"""The clinic's pages for its members: the clinic's patients and patient invitations
(/clinic), members and invitations (/clinic/members), settings (/clinic/settings), the
requests inbox (/clinic/requests), the schedule (/clinic/schedule), and joining from an
emailed invitation (/clinic/join).

Server-rendered forms answered with a redirect; who may do what is the roles table, checked by
the services (403 for a role without the right, 404 for a clinic one is not in).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

import msgspec
import segno
from babel.dates import format_date, format_datetime
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import ControllerRouterHandler

from server.domain.clinic import (
    REQUEST_LABELS,
    ROLE_LABELS,
    ROLES,
    STATUS_LABELS,
    may,
    roles_label,
)
from server.errors import AppError, InvalidField
from server.i18n import current, gettext
from server.pwa import flash
from server.pwa.clinic_settings import SETTINGS_PAGES
from server.security import session_cookie
from server.services import clinic_requests, clinic_schedule, team
from server.services.clinic_requests import Answer
from server.web import AppSettings, CurrentUser, DbPool, client_address, clinicians_only

AnyRequest = Request[Any, Any, Any]
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
DayParam = Annotated[date | None, QueryParameter(name="day", required=False)]


def _form_post(path: str, guards: list[Any] | None = None) -> post:
    return post(
        path,
        include_in_schema=False,
        status_code=HTTP_303_SEE_OTHER,
        guards=[clinicians_only] if guards is None else guards,
    )


def _page(name: str, user: Any, page: str, **context: Any) -> Template:
    return Template(
        f"clinic/{name}.html",
        context={"user": user, "page": page, "role_labels": ROLE_LABELS, **context},
        headers={"Cache-Control": "no-store"},
    )


def _when(moment: datetime, user: Any) -> str:
    local = moment.astimezone(user.zone)
    if current() != "en":
        return format_datetime(local, "EEE d MMM, HH:mm", locale=current())
    return f"{local:%a} {local:%b} {local.day}, {local:%H:%M}"


def _day_label(day: date) -> str:
    """A schedule day's heading, "Monday Mar 2", in the reader's language."""
    if current() != "en":
        return format_date(day, "EEEE d MMM", locale=current())
    return f"{day:%A} {day:%b} {day.day}"


@get("/clinic", include_in_schema=False, guards=[clinicians_only])
async def clinic_home(user: CurrentUser, pool: DbPool) -> Template:
    clinic, patients = await team.clinic_patients(pool, user)
    return _page(
        "home",
        user,
        "clinic",
        clinic=clinic,
        roles=roles_label(clinic.roles, current()),
        may_invite=may(clinic.roles, "schedule_write"),
        patients=[
            {
                "id": p.patient_id,
                "name": p.display_name,
                "since": _when(p.shared_since, user),
                "summary": may(clinic.roles, "clinical_read"),
            }
            for p in patients
        ],
    )


INVITE_PAGE = "/clinic/patient-invitation"


class _NewInvite(msgspec.Struct, frozen=True):
    link: str
    clinic_name: str
    expires_at: datetime


@_form_post("/clinic/patient-invitations")
async def invite_patient(user: CurrentUser, pool: DbPool, settings: AppSettings) -> Redirect:
    """Redirect-after-post: the link is sealed for the page that shows it once (only the token's
    hash is kept), so reloading that page makes no second invitation."""
    invite = await team.invite_patient(pool, settings, user)
    shown = _NewInvite(invite.link, invite.clinic_name, invite.expires_at)
    cookie = flash.seal(settings, user.id, INVITE_PAGE, shown)
    return Redirect(INVITE_PAGE, status_code=HTTP_303_SEE_OTHER, cookies=[cookie])


@get(INVITE_PAGE, include_in_schema=False, guards=[clinicians_only])
async def patient_invite_page(
    request: AnyRequest, user: CurrentUser, settings: AppSettings
) -> Template | Redirect:
    invite = flash.take(request, settings, user.id, _NewInvite)
    if invite is None:  # shown already, or a minute has passed: make a new one from /clinic
        return Redirect("/clinic", status_code=HTTP_303_SEE_OTHER)
    qr = segno.make(invite.link, error="m").svg_data_uri(scale=5, border=2, dark="#000000")
    page = _page(
        "patient_invite",
        user,
        "clinic",
        link=invite.link,
        qr=qr,
        clinic_name=invite.clinic_name,
        until=_when(invite.expires_at, user),
    )
    page.cookies.append(flash.cleared(settings, INVITE_PAGE))  # shown once
    return page


# --- members ----------------------------------------------------------------------------------


@get("/clinic/members", include_in_schema=False, guards=[clinicians_only])
async def members_page(user: CurrentUser, pool: DbPool) -> Template:
    found = await team.members_of(pool, user)
    return _page(
        "members",
        user,
        "clinic-members",
        clinic=found.clinic,
        roles=ROLES,
        members=[
            {"id": m.id, "name": m.display_name, "email": m.email, "roles": m.roles}
            for m in found.members
        ],
        pending=[
            {
                "id": i.id,
                "email": i.email,
                "roles": roles_label(i.roles, current()),
                "until": _when(i.expires_at, user),
            }
            for i in found.pending
        ],
    )


def _roles_from(data: dict[str, str]) -> list[str]:
    return [r for r in ROLES if data.get(f"role_{r}")]


@_form_post("/clinic/members/invite")
async def invite_member(user: CurrentUser, pool: DbPool, data: Form) -> Redirect:
    await team.invite_member(pool, user, data.get("email", "")[:320], _roles_from(data))
    return Redirect("/clinic/members", status_code=HTTP_303_SEE_OTHER)


@_form_post("/clinic/members/{member_id:str}/roles")
async def change_roles(
    member_id: FromPath[str], user: CurrentUser, pool: DbPool, data: Form
) -> Redirect:
    await team.change_roles(pool, user, member_id, _roles_from(data))
    return Redirect("/clinic/members", status_code=HTTP_303_SEE_OTHER)


@_form_post("/clinic/invitations/{invitation_id:str}/withdraw")
async def withdraw_invitation(
    invitation_id: FromPath[str], user: CurrentUser, pool: DbPool
) -> Redirect:
    await team.withdraw_invitation(pool, user, invitation_id)
    return Redirect("/clinic/members", status_code=HTTP_303_SEE_OTHER)


@get("/clinic/join", include_in_schema=False)
async def join_form() -> Template:
    return Template("clinic/join.html", context={"user": None, "page": "clinic-join"})


@post("/clinic/join", include_in_schema=False, status_code=HTTP_303_SEE_OTHER)
async def join(pool: DbPool, settings: AppSettings, data: Form) -> Template | Redirect:
    """The invitee chooses their name and password; signed in, on to the clinic."""
    try:
        _, session = await team.join(
            pool,
            settings,
            token=data.get("token", "")[:100],
            display_name=data.get("display_name", "")[:200],
            password=data.get("password", "")[:300],
            timezone=data.get("timezone") or "UTC",
        )
    except AppError as error:
        return Template(
            "clinic/join.html",
            context={
                "user": None,
                "page": "clinic-join",
                "error": gettext(current(), error.detail),
                "field": error.field,
            },
            status_code=error.status,
        )
    return Redirect(
        "/clinic", status_code=HTTP_303_SEE_OTHER, cookies=[session_cookie(settings, session)]
    )


# --- requests ---------------------------------------------------------------------------------


@get("/clinic/requests", include_in_schema=False, guards=[clinicians_only])
async def requests_page(request: AnyRequest, user: CurrentUser, pool: DbPool) -> Template:
    clinic, found = await clinic_requests.inbox(pool, user, client_address(request))
    return _page(
        "requests",
        user,
        "clinic-requests",
        clinic=clinic,
        statuses=STATUS_LABELS,
        requests=[
            {
                "id": r.id,
                "kind": REQUEST_LABELS[r.kind],
                "patient": r.patient_name,
                "patient_id": r.patient_id,
                "message": r.message,
                "preferred": r.preferred_times,
                "status": r.status,
                "reply": r.reply,
                "replied_by": r.replied_by_name,
                "sent": _when(r.created_at, user),
            }
            for r in found
        ],
    )


@_form_post("/clinic/requests/{request_id:str}")
async def answer_request(
    request: AnyRequest, request_id: FromPath[str], user: CurrentUser, pool: DbPool, data: Form
) -> Redirect:
    given = Answer(status=data.get("status", "")[:20], reply=data.get("reply", "")[:2000] or None)
    await clinic_requests.answer(pool, user, request_id, given, client_address(request))
    return Redirect("/clinic/requests", status_code=HTTP_303_SEE_OTHER)


# --- schedule ---------------------------------------------------------------------------------


@get("/clinic/schedule", include_in_schema=False, guards=[clinicians_only])
async def schedule_page(
    user: CurrentUser,
    pool: DbPool,
    day: DayParam = None,
    view: Annotated[str, QueryParameter(name="view")] = "week",
) -> Template:
    today = datetime.now(user.zone).date()
    shown = day or today
    days = 1 if view == "day" else 7
    first_day = shown if days == 1 else clinic_schedule.week_start(shown)
    first = datetime.combine(first_day, time(0), user.zone)
    clinic, bookings = await clinic_schedule.schedule(pool, user, first, days)
    _, patients = await team.clinic_patients(pool, user)
    by_day: dict[date, list[dict[str, Any]]] = {
        first_day + timedelta(days=i): [] for i in range(days)
    }
    for b in bookings:
        local = b.scheduled_at.astimezone(user.zone)
        by_day.setdefault(local.date(), []).append(
            {
                "id": b.id,
                "patient_id": b.patient_id,
                "patient": b.patient_name,
                "at": f"{local:%H:%M}",
                "minutes": b.duration_minutes,
                "status": b.status,
                "ride": b.ride,
                "day": local.date().isoformat(),
            }
        )
    step = timedelta(days=days)
    return _page(
        "schedule",
        user,
        "clinic-schedule",
        clinic=clinic,
        view="day" if days == 1 else "week",
        days=[{"day": d, "label": _day_label(d), "bookings": v} for d, v in by_day.items()],
        previous=(first_day - step).isoformat(),
        following=(first_day + step).isoformat(),
        shown=shown.isoformat(),
        may_write=may(clinic.roles, "schedule_write"),
        patients=[{"id": p.patient_id, "name": p.display_name} for p in patients],
    )


def _moment(data: dict[str, str], user: Any) -> datetime | None:
    if not data.get("day"):
        return None
    try:
        day = date.fromisoformat(data["day"])
        at = time.fromisoformat(data.get("time") or "09:00")
    except ValueError:
        raise InvalidField("day", "Choose a day and a time.") from None
    return datetime.combine(day, at, user.zone)


@_form_post("/clinic/schedule")
async def book(request: AnyRequest, user: CurrentUser, pool: DbPool, data: Form) -> Redirect:
    """Book a new infusion, or (with ``infusion``) move, cancel or mark one done."""
    minutes = data.get("minutes") or ""
    booked = await clinic_schedule.book(
        pool,
        user,
        data.get("patient", ""),
        data.get("infusion") or None,
        scheduled_at=_moment(data, user),
        duration_minutes=int(minutes) if minutes.isdigit() else None,
        status=data.get("status") or None,
        address=client_address(request),
    )
    day = booked.scheduled_at.astimezone(user.zone).date().isoformat()
    return Redirect(f"/clinic/schedule?day={day}", status_code=HTTP_303_SEE_OTHER)


CLINIC_PAGES: list[ControllerRouterHandler] = [
    clinic_home,
    invite_patient,
    patient_invite_page,
    members_page,
    invite_member,
    change_roles,
    withdraw_invitation,
    join_form,
    join,
    *SETTINGS_PAGES,
    requests_page,
    answer_request,
    schedule_page,
    book,
]
