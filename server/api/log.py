"""The patient's log over JSON: for every kind in server/domain/logbook.KINDS, ``/api/v1/<path>``
with PUT (idempotent upsert by a client-made UUID), GET one or a page, and DELETE (a tombstone).

These endpoints are the patient's own log: a clinician account gets 403 (it has no log of its
own; shared patients' data is read through /api/v1/patients/{id}/...). Another patient's id is
404. Storing a PHQ-9 whose item 9 is above 0 answers with the crisis resources in the same
response, so the app can show them at once.
"""

# No `from __future__ import annotations` here: the handlers are made per kind, and Litestar
# reads their annotations, which name the kind's own types.
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, put
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from litestar.types import ControllerRouterHandler

from server.api import entries
from server.config import Settings
from server.domain.accounts import User
from server.domain.checkins import AwareDateTime
from server.domain.instruments import INSTRUMENTS, Instrument
from server.domain.logbook import KINDS, LogKind, parse_entry_id
from server.domain.safety import clinic_phone_for
from server.errors import convert
from server.security import ONE_TRIP
from server.services import crisis, logbook
from server.services.access import own_access
from server.web import AppSettings, CurrentUser, DbPool, JSONBody, patients_only


def clinic_phone(user: User, settings: Settings) -> str | None:
    return clinic_phone_for(user.clinic_phone, settings.clinic_phone)


def log_controller(kind: LogKind) -> type[Controller]:
    """The four endpoints of one kind of entry."""
    body: Any = msgspec.defstruct(
        f"{kind.record.__name__}Put",
        # The client's change time for the conflict rule; omitted, the server's clock is used.
        [("updated_at", AwareDateTime | None, None)],
        bases=(kind.content,),
        frozen=True,
        kw_only=True,
        forbid_unknown_fields=True,
    )
    shown: Any = kind.shown_as or kind.record
    filters = {field.name: field.type for field in msgspec.structs.fields(kind.record)}

    class LogController(Controller):
        path = f"/api/v1/{kind.path}"
        tags = ["log"]
        guards = [patients_only]

        @put("/{entry_id:str}", status_code=HTTP_200_OK, opt={ONE_TRIP: True})
        async def put_entry(
            self,
            request: Request[Any, Any, Any],
            entry_id: FromPath[str],
            data: JSONBody[body],
            pool: DbPool,
            settings: AppSettings,
        ) -> Response[shown]:
            """Create or replace the entry with this client-made id: 201 when new, else 200."""
            stored, created, user = await logbook.put_own_entry(
                pool,
                request.auth,
                kind,
                parse_entry_id(entry_id),
                data,
                client_updated_at=data.updated_at,
            )
            phone = clinic_phone(user, settings)
            shown = await crisis.with_resources(pool, user, kind.view(stored, phone), phone)
            return Response(shown, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

        @get("/{entry_id:str}")
        async def get_entry(
            self, entry_id: FromPath[str], user: CurrentUser, pool: DbPool, settings: AppSettings
        ) -> shown:
            found = await logbook.get_entry(pool, own_access(user), kind, parse_entry_id(entry_id))
            phone = clinic_phone(user, settings)
            return await crisis.with_resources(pool, user, kind.view(found, phone), phone)

        @get("", opt={ONE_TRIP: True})
        async def list_entries(
            self,
            request: Request[Any, Any, Any],
            pool: DbPool,
            settings: AppSettings,
            first: Annotated[str | None, QueryParameter(name="from", max_length=10)] = None,
            last: Annotated[str | None, QueryParameter(name="to", max_length=10)] = None,
            limit: Annotated[int, QueryParameter(ge=1, le=entries.PAGE_MAX)] = entries.PAGE_DEFAULT,
            cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        ) -> entries.Page[shown]:
            """Entries on local days ``from``..``to``, latest first (without them: check-ins
            and questionnaires of the last 30 days, every infusion)."""
            match = {
                name: convert(request.query_params[name], filters[name], name, strict=False)
                for name in kind.filters
                if name in request.query_params
            }
            items, user = await logbook.list_own_entries(
                pool,
                request.auth,
                kind,
                first=entries.parse_day(first, "from"),
                last=entries.parse_day(last, "to"),
                limit=limit + 1,
                before=entries.read_page_token(cursor),
                match=match,
            )
            page = entries.paginate(items, limit, logbook.moment_of(kind))
            phone = clinic_phone(user, settings)
            shown = [kind.view(item, phone) for item in page.items]
            items = await crisis.all_with_resources(pool, user, shown, phone)
            return entries.Page(items=items, next=page.next)

        @delete("/{entry_id:str}", status_code=HTTP_204_NO_CONTENT)
        async def delete_entry(
            self, entry_id: FromPath[str], user: CurrentUser, pool: DbPool
        ) -> None:
            await logbook.delete_entry(pool, own_access(user), kind, parse_entry_id(entry_id))

    LogController.__name__ = f"{kind.record.__name__}Controller"
    return LogController


class InstrumentList(msgspec.Struct):
    instruments: list[Instrument]


@get(
    "/api/v1/instruments",
    tags=["log"],
    cache_control=CacheControlHeader(max_age=3600, public=True),
)
async def list_instruments() -> InstrumentList:
    """PHQ-9 and GAD-7: items, answer options and severity bands (no patient data)."""
    return InstrumentList(instruments=list(INSTRUMENTS.values()))


def log_routes() -> list[ControllerRouterHandler]:
    """One controller per kind in the table, made when the app is: a kind registered before
    ``create_app`` gets its endpoints."""
    return [list_instruments, *(log_controller(kind) for kind in KINDS.values())]
