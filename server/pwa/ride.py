"""The companion's page (issue 16): ``/ride#token=…``, opened from the email a patient's driver
gets. It needs no account; static/js/ride.js reads the token and asks the API."""

from __future__ import annotations

from litestar import get
from litestar.response import Template


@get("/ride", include_in_schema=False)
async def ride() -> Template:
    return Template("ride.html")


RIDE_PAGES = [ride]
