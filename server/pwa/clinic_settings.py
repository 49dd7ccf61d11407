"""The clinic's settings page for its admins (/clinic/settings): name, phone, the patients'
country for crisis resources, pre-session instructions, default reminders, the on-call address,
and the chair's dose limits and blood-pressure threshold. Empty fields fall back to the
environment; a value out of bounds is refused naming its field."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import ControllerRouterHandler

from server.domain.clinic import COUNTRY_LABELS, ROLE_LABELS
from server.errors import InvalidField
from server.i18n import current, gettext
from server.services import team
from server.services.team import SettingsForm
from server.web import AppSettings, CurrentUser, DbPool, clinicians_only

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _page(name: str, user: Any, page: str, **context: Any) -> Template:
    return Template(
        f"clinic/{name}.html",
        context={"user": user, "page": page, "role_labels": ROLE_LABELS, **context},
        headers={"Cache-Control": "no-store"},
    )


def _settings_context(found: Any, **extra: Any) -> dict[str, Any]:
    return {"s": found, "countries": COUNTRY_LABELS, **extra}


@get("/clinic/settings", include_in_schema=False, guards=[clinicians_only])
async def settings_page(user: CurrentUser, pool: DbPool, settings: AppSettings) -> Template:
    found = await team.settings_of(pool, user)
    return _page(
        "settings",
        user,
        "clinic-settings",
        **_settings_context(found.settings, defaults=settings),
    )


@post(
    "/clinic/settings",
    include_in_schema=False,
    guards=[clinicians_only],
    status_code=HTTP_303_SEE_OTHER,
)
async def save_settings(
    user: CurrentUser, pool: DbPool, settings: AppSettings, data: Form
) -> Template | Redirect:
    form: SettingsForm | None = None
    try:
        form = _settings_form(data)
        await team.change_settings(pool, user, form, None)
    except InvalidField as error:
        # A number that did not parse: the saved settings, with the error naming the field.
        echo = form if form is not None else (await team.settings_of(pool, user)).settings
        return Template(
            "clinic/settings.html",
            context={
                "user": user,
                "page": "clinic-settings",
                "error": gettext(current(), error.detail),
                "field": error.field,
                **_settings_context(echo, defaults=settings),
            },
            status_code=error.status,
        )
    return Redirect("/clinic/settings?saved=1", status_code=HTTP_303_SEE_OTHER)


def _number(data: dict[str, str], field: str, default: float) -> float:
    raw = (data.get(field) or "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise InvalidField(field, "Enter a number.") from None


def _settings_form(data: dict[str, str]) -> SettingsForm:
    return SettingsForm(
        name=data.get("name", "")[:200],
        phone=data.get("phone") or None,
        country=data.get("country", "US"),
        emergency_number=data.get("emergency_number") or None,
        pre_session_instructions=data.get("pre_session_instructions") or None,
        pre_session_instructions_es=data.get("pre_session_instructions_es") or None,
        checkin_time=data.get("checkin_time") or None,
        day_before_reminder=bool(data.get("day_before_reminder")),
        two_hours_reminder=bool(data.get("two_hours_reminder")),
        evening_after_reminder=bool(data.get("evening_after_reminder")),
        on_call_email=data.get("on_call_email") or None,
        ketamine_min_mg_per_kg=_number(data, "ketamine_min_mg_per_kg", 0.1),
        ketamine_max_mg_per_kg=_number(data, "ketamine_max_mg_per_kg", 1.0),
        esketamine_doses=[d for d in (28, 56, 84) if data.get(f"esketamine_{d}")],
        bp_systolic_threshold=int(_number(data, "bp_systolic_threshold", 140)),
        bp_diastolic_threshold=int(_number(data, "bp_diastolic_threshold", 90)),
    )


SETTINGS_PAGES: list[ControllerRouterHandler] = [settings_page, save_settings]
