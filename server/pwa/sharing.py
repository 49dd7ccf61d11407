"""The patient's sharing page: make a code for their psychiatrist, see who has access since
when, withdraw it, and read the access log (every view, export and change by a clinician).

Making a code is a redirect-after-post: the POST makes it and sends the browser back to
/sharing, which shows it once (server/pwa/flash.py), so reloading the page makes no second code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, get, post
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import ControllerRouterHandler

from server.domain.accounts import User
from server.domain.clinic import roles_label
from server.i18n import current, gettext, ngettext
from server.pwa import dates, flash
from server.services import Pool
from server.services.sharing import (
    ACTION_LABELS,
    LogEntry,
    access_log,
    create_share,
    parse_share_id,
    revoke_share,
    shares_for,
    team_shares_for,
)
from server.timeutil import utc_now
from server.web import AppSettings, CurrentUser, DbPool, client_address, patients_only

AnyRequest = Request[Any, Any, Any]
PAGE = "/sharing"
LOG_ROWS = 50  # rows shown, each a run of the same person doing the same thing
LOG_EVENTS = 500  # events read to make them: a clinician's list is opened many times a day


class NewCode(msgspec.Struct, frozen=True):
    code: str
    until: datetime


def _when(moment: Any, zone: ZoneInfo) -> str:
    return dates.moment(moment, zone)


def _(message: str) -> str:
    return gettext(current(), message)


def _runs(entries: Sequence[LogEntry]) -> list[list[LogEntry]]:
    """Consecutive entries of one person doing one thing, newest first, as one run each."""
    runs: list[list[LogEntry]] = []
    for entry in entries:
        last = runs[-1][0] if runs else None
        if last and (last.actor.id, last.action) == (entry.actor.id, entry.action):
            runs[-1].append(entry)
        else:
            runs.append([entry])
    return runs


def _log_row(run: list[LogEntry], user: User, zone: ZoneInfo) -> dict[str, str]:
    newest, oldest, count = run[0], run[-1], len(run)
    what = _(ACTION_LABELS.get(newest.action, newest.action))
    return {
        "when": _when(newest.at, zone)
        if count == 1
        else _("{first} to {last}").format(
            first=_when(oldest.at, zone), last=_when(newest.at, zone)
        ),
        "who": _("You")
        if newest.actor.id == user.id
        else newest.actor.name
        + (
            f" ({roles_label(newest.actor.clinic_roles or [], current())}, {newest.actor.clinic})"
            if newest.actor.clinic
            else ""
        ),
        "what": what
        if count == 1
        else ngettext(current(), "{what} ({n} time)", "{what} ({n} times)", count).format(
            what=what, n=count
        ),
        "where": ", ".join(dict.fromkeys(e.address for e in run)),
    }


async def _page(pool: Pool, user: User, **extra: Any) -> Template:
    now = utc_now()
    shares = await shares_for(pool, user)
    teams = await team_shares_for(pool, user)
    log = await access_log(pool, user, LOG_EVENTS, None)
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
            "teams": [
                {"id": t.id, "name": t.clinic_name, "since": _when(t.created_at, zone)}
                for t in teams
            ],
            "pending": [
                {"id": s.id, "made": _when(s.created_at, zone), "until": _when(s.expires_at, zone)}
                for s in shares
                if s.status(now) == "pending"
            ],
            "log": [_log_row(run, user, zone) for run in _runs(log.items)[:LOG_ROWS]],
            **extra,
        },
    )


@get(PAGE, include_in_schema=False, guards=[patients_only])
async def sharing_page(
    request: AnyRequest, pool: DbPool, user: CurrentUser, settings: AppSettings
) -> Template:
    new = flash.take(request, settings, user.id, NewCode)
    page = await _page(
        pool,
        user,
        new_code=new.code if new else None,
        new_until=_when(new.until, user.zone) if new else None,
    )
    if flash.COOKIE in request.cookies:
        page.cookies.append(flash.cleared(settings, PAGE))  # shown once
    return page


@post(
    "/sharing/codes",
    include_in_schema=False,
    status_code=HTTP_303_SEE_OTHER,
    guards=[patients_only],
)
async def make_code(
    request: AnyRequest, pool: DbPool, user: CurrentUser, settings: AppSettings
) -> Redirect:
    share, code = await create_share(pool, user, client_address(request))
    shown = flash.seal(settings, user.id, PAGE, NewCode(code, share.expires_at))
    return Redirect(PAGE, status_code=HTTP_303_SEE_OTHER, cookies=[shown])


@post(
    "/sharing/{share_id:str}/revoke",
    include_in_schema=False,
    status_code=HTTP_303_SEE_OTHER,
    guards=[patients_only],
)
async def withdraw(request: AnyRequest, share_id: str, pool: DbPool, user: CurrentUser) -> Redirect:
    await revoke_share(pool, user, parse_share_id(share_id), client_address(request))
    return Redirect(PAGE, status_code=HTTP_303_SEE_OTHER)


SHARING_PAGES: list[ControllerRouterHandler] = [sharing_page, make_code, withdraw]
