"""The patient's pages.

Most pages are the app shell: the same HTML for everyone who reads the same language (issue 18:
each page is rendered in its reader's, server/pwa/language.py), no patient data in it, filled in by
static/js from the device's IndexedDB (so they work offline and are safe to precache). Only
/history renders patient data on the server; it is never cached (no-store, network only).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from server.domain.accounts import SessionState
from server.domain.instruments import INSTRUMENTS, SAFETY_ITEM, in_language
from server.domain.records import SIDE_EFFECT_CODES
from server.domain.safety import NOT_MONITORED, crisis_resources
from server.errors import NotFound
from server.i18n import LANGUAGE_NAMES, N_, current, gettext
from server.pwa import charts
from server.services import clinic
from server.web import AppSettings, Connection, CurrentUser, DbPool, patients_only

SIDE_EFFECT_LABELS = {
    "dissociation": N_("Dissociation"),
    "nausea": N_("Nausea"),
    "vomiting": N_("Vomiting"),
    "dizziness": N_("Dizziness"),
    "headache": N_("Headache"),
    "drowsiness": N_("Drowsiness"),
    "blurred_vision": N_("Blurred vision"),
    "elevated_blood_pressure": N_("High blood pressure"),
    "anxiety": N_("Anxiety"),
    "confusion": N_("Confusion"),
    "numbness": N_("Numbness"),
    "other": N_("Other"),
}
# Shown first after an infusion: what ketamine commonly causes in the hours after a session.
POST_INFUSION_CODES = ("dissociation", "nausea", "dizziness", "headache", "drowsiness")
HISTORY_RANGES = (30, 90)
# The ES module each page starts (static/js/NAME.js); app.js alone for the rest.
PAGE_SCRIPTS = {
    "today": "today",
    "assess": "assess",
    "infusions": "infusions",
    "settings": "settings",
    "history": "history",
    "login": "auth",
    "signup": "auth",
    "welcome": "welcome",
    "offline": "offline",
}

AnyRequest = Request[Any, Any, Any]


def side_effect_labels() -> dict[str, str]:
    """The side effects' names in the reader's language, for the pages' scripts."""
    return {code: gettext(current(), label) for code, label in SIDE_EFFECT_LABELS.items()}


def _page(name: str, settings: AppSettings, **context: Any) -> Template:
    """Every page can show the crisis resources; the clinic-wide phone is the fallback that the
    page script replaces with the patient's own clinic number when they set one."""
    return Template(
        f"{name}.html",
        context={
            "page": name,
            "script": PAGE_SCRIPTS.get(name, "app"),
            "server_clinic_phone": settings.clinic_phone,
            "crisis": crisis_resources(None, current()),
            "not_monitored": NOT_MONITORED,
            "lang": current(),
            "languages": LANGUAGE_NAMES,
            **context,
        },
    )


def _navigation(connection: Connection) -> bool:
    """A person opening the page, rather than the service worker precaching the shell."""
    return connection.headers.get("sec-fetch-mode", "navigate") == "navigate"


async def patient_app(connection: Connection, handler: BaseRouteHandler) -> None:
    """The guard of the shell pages: they hold no patient data, so the service worker may
    fetch them signed out; a person who is signed out is sent to sign in (and a clinician to
    their own pages)."""
    if _navigation(connection):
        await patients_only(connection, handler)


@get("/", include_in_schema=False, guards=[patient_app])
async def today(settings: AppSettings) -> Template:
    side_effects = [(code, SIDE_EFFECT_LABELS[code]) for code in SIDE_EFFECT_CODES]
    return _page(
        "today",
        settings,
        side_effects=side_effects,
        post_infusion_codes=POST_INFUSION_CODES,
    )


@get("/assess/{instrument:str}", include_in_schema=False, guards=[patient_app])
async def assess(instrument: FromPath[str], settings: AppSettings) -> Template:
    found = INSTRUMENTS.get(instrument)
    if found is None:
        raise NotFound("No such questionnaire.")
    found = in_language(found, current())
    return _page(
        "assess",
        settings,
        instrument=found,
        bands=msgspec.to_builtins(found.bands),
        # Index of the answer that shows crisis resources at once (PHQ-9 item 9), or -1.
        safety_item=SAFETY_ITEM - 1 if found.id == "phq9" else -1,
    )


@get("/infusions", include_in_schema=False, guards=[patient_app])
async def infusions(settings: AppSettings) -> Template:
    return _page("infusions", settings)


@get("/settings", include_in_schema=False, guards=[patient_app])
async def settings_page(settings: AppSettings) -> Template:
    return _page("settings", settings)


@get("/crisis", include_in_schema=False)
async def crisis(settings: AppSettings) -> Template:
    """Public and precached: help must be reachable signed out and offline."""
    return _page("crisis", settings)


@get("/offline", include_in_schema=False)
async def offline(settings: AppSettings) -> Template:
    """Precached; the service worker serves it for any page it cannot reach, History too (whose
    entries it lists from the device, static/js/offline.js)."""
    return _page("offline", settings, side_effect_labels=side_effect_labels())


@get("/login", include_in_schema=False)
async def login(request: AnyRequest, settings: AppSettings) -> Template | Redirect:
    user = request.user
    if user is not None and _navigation(request):
        return Redirect("/clinician" if user.role == "clinician" else "/")
    state: SessionState | None = request.auth
    # The password was right and the second factor is still to come: the code step at once.
    return _page("login", settings, second_step=state is not None and state.second_factor_pending)


@get("/signup", include_in_schema=False)
async def signup(settings: AppSettings) -> Template:
    return _page("signup", settings)


@get("/welcome", include_in_schema=False, guards=[patients_only])
async def welcome(settings: AppSettings) -> Template:
    """First run: time zone, daily reminder time, clinic phone."""
    return _page("welcome", settings)


@get("/history", include_in_schema=False, guards=[patients_only])
async def history(
    settings: AppSettings, pool: DbPool, user: CurrentUser, days: FromQuery[int] = 30
) -> Template:
    """The patient's own chart: rendered on the server from the database, never cached."""
    days = days if days in HISTORY_RANGES else HISTORY_RANGES[0]
    summary = await clinic.own_history(pool, user, days)
    return _page(
        "history",
        settings,
        days=days,
        ranges=HISTORY_RANGES,
        side_effect_labels=side_effect_labels(),
        mood=charts.patient_mood(summary),
        phq9=charts.patient_phq9(summary),
    )


PAGES = [
    today,
    assess,
    infusions,
    settings_page,
    crisis,
    offline,
    login,
    signup,
    welcome,
    history,
]
