"""The patient's sharing page: make a code for their psychiatrist, see who has access since
when, withdraw it, and read the access log (every view, export and change by a clinician)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import ControllerRouterHandler

from server.domain.accounts import User
from server.services import Pool
from server.services.sharing import (
    ACTION_LABELS,
    access_log,
    create_share,
    parse_share_id,
    revoke_share,
    shares_for,
)
from server.timeutil import utc_now
from server.web import CurrentUser, DbPool, client_address, patients_only

AnyRequest = Request[Any, Any, Any]
LOG_ROWS = 50


def _when(moment: Any, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%b} {local.day}, {local.year} {local:%H:%M}"


async def _page(pool: Pool, user: User, **extra: Any) -> Template:
    now = utc_now()
    shares = await shares_for(pool, user)
    log = await access_log(pool, user, LOG_ROWS, None)
    zone = user.zone
    return Template(
        "sharing.html",
        context={
            "page": "sharing",
            "active": [
                {
                    "id": s.id,
                    "name": s.clinician.display_name if s.clinician else "",
                    "email": s.clinician.email if s.clinician else "",
                    "since": _when(s.accepted_at, zone),
                }
                for s in shares
                if s.status(now) == "active"
            ],
            "pending": [
                {"id": s.id, "made": _when(s.created_at, zone), "until": _when(s.expires_at, zone)}
                for s in shares
                if s.status(now) == "pending"
            ],
            "log": [
                {
                    "when": _when(e.at, zone),
                    "who": "You" if e.actor.id == user.id else e.actor.name,
                    "what": ACTION_LABELS.get(e.action, e.action),
                    "where": e.address,
                }
                for e in log.items
            ],
            **extra,
        },
    )


@get("/sharing", include_in_schema=False, guards=[patients_only])
async def sharing_page(pool: DbPool, user: CurrentUser) -> Template:
    return await _page(pool, user)


@post("/sharing/codes", include_in_schema=False, status_code=200, guards=[patients_only])
async def make_code(request: AnyRequest, pool: DbPool, user: CurrentUser) -> Template:
    share, code = await create_share(pool, user, client_address(request))
    return await _page(pool, user, new_code=code, new_until=_when(share.expires_at, user.zone))


@post(
    "/sharing/{share_id:str}/revoke",
    include_in_schema=False,
    status_code=HTTP_303_SEE_OTHER,
    guards=[patients_only],
)
async def withdraw(request: AnyRequest, share_id: str, pool: DbPool, user: CurrentUser) -> Redirect:
    await revoke_share(pool, user, parse_share_id(share_id), client_address(request))
    return Redirect("/sharing", status_code=HTTP_303_SEE_OTHER)


SHARING_PAGES: list[ControllerRouterHandler] = [sharing_page, make_code, withdraw]
