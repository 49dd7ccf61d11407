"""The patient's pages.

Most pages are the app shell: the same HTML for everyone, no patient data in it, filled in by
static/js from the device's IndexedDB (so they work offline and are safe to precache). Only
/history renders patient data on the server; it is never cached (no-store, network only).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from server import security
from server.access import own_access
from server.api import AppSettings, DbPool
from server.db import transaction
from server.domain.instruments import INSTRUMENTS, SAFETY_ITEM
from server.domain.records import SIDE_EFFECT_CODES
from server.domain.safety import NOT_MONITORED, crisis_resources
from server.problems import NotFound
from server.pwa import charts
from server.store import summary as summary_store
from server.timeutil import local_day, utc_now

SIDE_EFFECT_LABELS = {
    "dissociation": "Dissociation",
    "nausea": "Nausea",
    "vomiting": "Vomiting",
    "dizziness": "Dizziness",
    "headache": "Headache",
    "drowsiness": "Drowsiness",
    "blurred_vision": "Blurred vision",
    "elevated_blood_pressure": "High blood pressure",
    "anxiety": "Anxiety",
    "confusion": "Confusion",
    "numbness": "Numbness",
    "other": "Other",
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
}

AnyRequest = Request[Any, Any, Any]


def _page(name: str, settings: AppSettings, **context: Any) -> Template:
    """Every page can show the crisis resources; the clinic-wide phone is the fallback that the
    page script replaces with the patient's own clinic number when they set one."""
    return Template(
        f"{name}.html",
        context={
            "page": name,
            "script": PAGE_SCRIPTS.get(name, "app"),
            "server_clinic_phone": settings.clinic_phone,
            "crisis": crisis_resources(None),
            "not_monitored": NOT_MONITORED,
            **context,
        },
    )


def _navigation(request: AnyRequest) -> bool:
    """A person opening the page, rather than the service worker precaching the shell."""
    return request.headers.get("sec-fetch-mode", "navigate") == "navigate"


async def _shell(
    request: AnyRequest, name: str, settings: AppSettings, **context: Any
) -> Template | Redirect:
    """Shell pages hold no patient data, so the worker may fetch them signed out; a person who
    is signed out is sent to sign in (and a clinician to their own pages)."""
    if _navigation(request):
        user = await security.current_user(request)
        if user is None:
            return Redirect(f"/login?next={request.url.path}")
        if user.role == "clinician":
            return Redirect("/clinician")
    return _page(name, settings, **context)


@get("/", include_in_schema=False)
async def today(request: AnyRequest, settings: AppSettings) -> Template | Redirect:
    side_effects = [(code, SIDE_EFFECT_LABELS[code]) for code in SIDE_EFFECT_CODES]
    return await _shell(
        request,
        "today",
        settings,
        side_effects=side_effects,
        post_infusion_codes=POST_INFUSION_CODES,
    )


@get("/assess/{instrument:str}", include_in_schema=False)
async def assess(
    request: AnyRequest, instrument: FromPath[str], settings: AppSettings
) -> Template | Redirect:
    found = INSTRUMENTS.get(instrument)
    if found is None:
        raise NotFound("No such questionnaire.")
    return await _shell(
        request,
        "assess",
        settings,
        instrument=found,
        bands=msgspec.to_builtins(found.bands),
        # Index of the answer that shows crisis resources at once (PHQ-9 item 9), or -1.
        safety_item=SAFETY_ITEM - 1 if found.id == "phq9" else -1,
    )


@get("/infusions", include_in_schema=False)
async def infusions(request: AnyRequest, settings: AppSettings) -> Template | Redirect:
    return await _shell(request, "infusions", settings)


@get("/settings", include_in_schema=False)
async def settings_page(request: AnyRequest, settings: AppSettings) -> Template | Redirect:
    return await _shell(request, "settings", settings)


@get("/crisis", include_in_schema=False)
async def crisis(settings: AppSettings) -> Template:
    """Public and precached: help must be reachable signed out and offline."""
    return _page("crisis", settings)


@get("/offline", include_in_schema=False)
async def offline(settings: AppSettings) -> Template:
    return _page("offline", settings)


@get("/login", include_in_schema=False)
async def login(request: AnyRequest, settings: AppSettings) -> Template | Redirect:
    user = await security.current_user(request)
    if user is not None and _navigation(request):
        return Redirect("/clinician" if user.role == "clinician" else "/")
    return _page("login", settings)


@get("/signup", include_in_schema=False)
async def signup(settings: AppSettings) -> Template:
    return _page("signup", settings)


@get("/welcome", include_in_schema=False)
async def welcome(request: AnyRequest, settings: AppSettings) -> Template | Redirect:
    """First run: time zone, daily reminder time, clinic phone."""
    user = await security.current_user(request)
    if user is None or user.role != "patient":
        return Redirect("/login?next=/welcome")
    return _page("welcome", settings)


@get("/history", include_in_schema=False)
async def history(
    request: AnyRequest, settings: AppSettings, pool: DbPool, days: FromQuery[int] = 30
) -> Template | Redirect:
    """The patient's own chart: rendered on the server from the database, never cached."""
    user = await security.current_user(request)
    if user is None or user.role != "patient":
        return Redirect("/login?next=/history")
    days = days if days in HISTORY_RANGES else HISTORY_RANGES[0]
    now = utc_now()
    last = local_day(now, user.zone)
    first = last - timedelta(days=days - 1)
    async with transaction(pool) as conn:
        summary = await summary_store.patient_summary(
            conn, own_access(user), user, first=first, last=last, now=now
        )
    return _page(
        "history",
        settings,
        days=days,
        ranges=HISTORY_RANGES,
        mood=charts.mood_chart(summary),
        phq9=charts.phq9_chart(summary),
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
