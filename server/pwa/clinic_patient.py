"""The patient's side of the clinic: joining through a clinic's invitation (a link or QR code:
sign up or sign in, then a consent screen that says who will see what; the team share starts
at consent) and requests to the clinic (/requests: a follow-up appointment, a medication
concern, and the clinic's replies).

The invitation's token travels in the link's fragment, which never reaches a server log;
static/js/join.js keeps it in the tab's sessionStorage through signing up, and puts it in the
form that asks for the consent screen.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import ControllerRouterHandler

from server.domain.clinic import REQUEST_LABELS, RIGHTS, ROLE_LABELS, STATUS_LABELS
from server.errors import AppError
from server.i18n import N_, current, gettext
from server.services import clinic_requests, team
from server.services.clinic_requests import NewRequest
from server.web import AppSettings, CurrentUser, DbPool, client_address, patients_only

AnyRequest = Request[Any, Any, Any]
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]

# What the consent screen says each role will see (the roles table, in words).
SEES = {
    "clinical_read": N_("your check-ins, questionnaires, notes and summary"),
    "chair_read": N_("the records of your sessions"),
    "schedule_read": N_("your infusion schedule"),
    "appointment_read": N_("your requests for appointments"),
    "medication_read": N_("your concerns about medication"),
    "alerts": N_("alerts about warning signs in your answers"),
}


def who_sees_what() -> list[dict[str, Any]]:
    return [
        {
            "role": ROLE_LABELS[role],
            "sees": [words for right, words in SEES.items() if right in rights]
            or [N_("none of your data")],
        }
        for role, rights in RIGHTS.items()
    ]


def _join_page(settings: Any, **context: Any) -> Template:
    return Template(
        "join.html",
        context={
            "page": "join",
            "script": "join",
            "server_clinic_phone": settings.clinic_phone,
            **context,
        },
        headers={"Cache-Control": "no-store"},
    )


@get("/join", include_in_schema=False)
async def join_page(settings: AppSettings) -> Template:
    return _join_page(settings)


@post("/join", include_in_schema=False, status_code=200)
async def consent_screen(
    request: AnyRequest, pool: DbPool, settings: AppSettings, data: Form
) -> Template | Redirect:
    """Signed out: to sign-up, and back here after it. Signed in: who will see what."""
    user = request.user
    if user is None:
        return Redirect("/signup?next=/join", status_code=HTTP_303_SEE_OTHER)
    token = data.get("token", "")[:100]
    try:
        invitation = await team.patient_invitation(pool, user, token)
    except AppError as error:
        return _join_page(settings, error=gettext(current(), error.detail))
    return _join_page(
        settings,
        consent=True,
        token=token,
        clinic_name=invitation.clinic_name,
        roles=who_sees_what(),
    )


@post(
    "/join/consent", include_in_schema=False, status_code=HTTP_303_SEE_OTHER, guards=[patients_only]
)
async def consent(
    request: AnyRequest, pool: DbPool, user: CurrentUser, settings: AppSettings, data: Form
) -> Template | Redirect:
    try:
        await team.consent(pool, user, data.get("token", "")[:100], client_address(request))
    except AppError as error:
        return _join_page(settings, error=gettext(current(), error.detail))
    return Redirect("/sharing", status_code=HTTP_303_SEE_OTHER)


@get("/requests", include_in_schema=False, guards=[patients_only])
async def requests_page(user: CurrentUser, pool: DbPool, settings: AppSettings) -> Template:
    clinic = await team.clinic_for_patient(pool, settings, user)
    found = await clinic_requests.own_requests(pool, user)
    return Template(
        "requests.html",
        context={
            "page": "requests",
            "server_clinic_phone": clinic.phone,
            "clinic": clinic,
            "kinds": REQUEST_LABELS,
            "statuses": STATUS_LABELS,
            "requests": found,
            "zone": user.zone,
        },
        headers={"Cache-Control": "no-store"},
    )


@post("/requests", include_in_schema=False, status_code=HTTP_303_SEE_OTHER, guards=[patients_only])
async def send_request(
    request: AnyRequest, user: CurrentUser, pool: DbPool, data: Form
) -> Redirect:
    new = NewRequest(
        kind=data.get("kind", "")[:20],
        message=data.get("message", "")[:2000],
        preferred_times=data.get("preferred_times") or None,
    )
    await clinic_requests.send(pool, user, new, client_address(request))
    return Redirect("/requests", status_code=HTTP_303_SEE_OTHER)


CLINIC_PATIENT_PAGES: list[ControllerRouterHandler] = [
    join_page,
    consent_screen,
    consent,
    requests_page,
    send_request,
]
