"""A clinician's alerts: `GET /api/v1/clinician/alerts?state=open|all` and
`POST /api/v1/clinician/alerts/{id}/acknowledge` (the rules: server/services/alerts.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, Parameter, QueryParameter
from litestar.status_codes import HTTP_200_OK
from litestar.types import ControllerRouterHandler

from server.domain.alerts import NOTE_MAX, Alert, AlertKind, AlertState
from server.services import alerts
from server.web import CurrentUser, DbPool, Input, JSONBody, client_address, clinicians_only

AnyRequest = Request[Any, Any, Any]


class AcknowledgeIn(Input):
    note: Annotated[str, msgspec.Meta(max_length=NOTE_MAX)] | None = None


class AlertOut(msgspec.Struct, kw_only=True):
    id: UUID
    patient_id: UUID
    kind: AlertKind
    day: date  # the patient's local day of the event
    raised_at: datetime
    detail: str  # what was found, for the clinician (never in a push or an email)
    acknowledged_at: datetime | None
    acknowledged_by: UUID | None
    note: str | None


def alert_out(alert: Alert) -> AlertOut:
    return msgspec.convert(alert, AlertOut, from_attributes=True)


class AlertController(Controller):
    path = "/api/v1/clinician/alerts"
    tags = ["alerts"]
    guards = [clinicians_only]

    @get("")
    async def list_alerts(
        self,
        request: AnyRequest,
        user: CurrentUser,
        pool: DbPool,
        wanted: Annotated[AlertState, QueryParameter(name="state")] = "open",
        limit: Annotated[int, Parameter(ge=1, le=alerts.LIST_MAX)] = alerts.LIST_DEFAULT,
    ) -> list[AlertOut]:
        """Your alerts about patients who share with you, newest first: the open ones, or
        (``state=all``) acknowledged ones too."""
        found = await alerts.alerts_for(pool, user, wanted, client_address(request), limit)
        return [alert_out(a) for a in found]

    @post("/{alert_id:str}/acknowledge", status_code=HTTP_200_OK)
    async def acknowledge(
        self,
        request: AnyRequest,
        alert_id: FromPath[str],
        user: CurrentUser,
        pool: DbPool,
        data: JSONBody[AcknowledgeIn] | None = None,
    ) -> AlertOut:
        """Say you have seen the alert (with an optional note for yourself). The patient's
        access log shows that you did."""
        note = ((data.note or "").strip() or None) if data else None
        found = await alerts.acknowledge(pool, user, alert_id, note, client_address(request))
        return alert_out(found)


ALERT_ROUTES: list[ControllerRouterHandler] = [AlertController]
