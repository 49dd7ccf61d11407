"""The patient's day before a session (issue 16): where they are in their course ("session 3
of 6" and what comes next), the checklist for the next session (the ride home, with whom; the
clinic's instructions; anything to tell the clinic) and, the day after, "did you get home
safely?". The day-before reminder opens it. A shell page like the others: its data comes from
the API (static/js/day_before.js)."""

from __future__ import annotations

from litestar import get
from litestar.response import Template

from server.pwa.pages import _page, patient_app
from server.web import AppSettings


@get("/day-before", include_in_schema=False, guards=[patient_app])
async def day_before(settings: AppSettings) -> Template:
    return _page("day_before", settings, script="day_before")


DAY_BEFORE_PAGES = [day_before]
