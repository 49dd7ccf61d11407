"""Sharing with a clinician over JSON: codes, acceptance, revocation, the patient's access log
(the steps themselves: server/services/sharing.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from litestar.types import ControllerRouterHandler

from server.domain.accounts import User
from server.domain.sharing import Party, Share, ShareStatus
from server.services import sharing
from server.services.sharing import DEFAULT_HOURS, AccessLog
from server.timeutil import utc_now
from server.web import (
    CurrentUser,
    DbPool,
    Input,
    JSONBody,
    client_address,
    clinicians_only,
    patient_data,
    patients_only,
)

LOG_PAGE_MAX = 200

AnyRequest = Request[Any, Any, Any]


class ShareIn(Input):
    expires_in_hours: Annotated[int, msgspec.Meta(ge=1, le=168)] = DEFAULT_HOURS


class AcceptIn(Input):
    code: Annotated[str, msgspec.Meta(max_length=40)]


class NewShare(msgspec.Struct):
    id: UUID
    code: str  # shown once; only its hash is kept
    expires_at: datetime


class ShareOut(msgspec.Struct, kw_only=True):
    id: UUID
    status: ShareStatus
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    clinician: Party | None = None  # for the patient
    patient: Party | None = None  # for the clinician


def share_out(share: Share, viewer: User, now: datetime) -> ShareOut:
    return ShareOut(
        id=share.id,
        status=share.status(now),
        created_at=share.created_at,
        expires_at=share.expires_at,
        accepted_at=share.accepted_at,
        clinician=share.clinician if viewer.role == "patient" else None,
        patient=share.patient if viewer.role == "clinician" else None,
    )


class ShareController(Controller):
    path = "/api/v1/shares"
    tags = ["sharing"]
    guards = [patient_data]

    @post("", status_code=HTTP_201_CREATED, guards=[patients_only])
    async def create(
        self,
        request: AnyRequest,
        user: CurrentUser,
        pool: DbPool,
        data: JSONBody[ShareIn] | None = None,
    ) -> NewShare:
        """A single-use code for a clinician (patients only). Read it aloud or write it down:
        it is shown once."""
        hours = data.expires_in_hours if data else DEFAULT_HOURS
        share, code = await sharing.create_share(pool, user, client_address(request), hours)
        return NewShare(id=share.id, code=code, expires_at=share.expires_at)

    @post("/accept", status_code=HTTP_200_OK, guards=[clinicians_only])
    async def accept(
        self, request: AnyRequest, data: JSONBody[AcceptIn], user: CurrentUser, pool: DbPool
    ) -> ShareOut:
        """Enter a patient's code (clinicians only)."""
        share = await sharing.accept_share(pool, user, data.code, client_address(request))
        return share_out(share, user, utc_now())

    @get("")
    async def list_shares(self, user: CurrentUser, pool: DbPool) -> list[ShareOut]:
        """Patient: who has access since when, and codes not used yet. Clinician: patients."""
        now = utc_now()
        return [share_out(s, user, now) for s in await sharing.shares_for(pool, user)]

    @delete("/{share_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def revoke(
        self, request: AnyRequest, share_id: str, user: CurrentUser, pool: DbPool
    ) -> Response[None]:
        """Withdraw a share or an unused code: the clinician's next request is refused. Only
        the patient's own shares exist for them; for anyone else there is no such share."""
        parsed = sharing.parse_share_id(share_id)
        await sharing.revoke_share(pool, user, parsed, client_address(request))
        return Response(None, status_code=HTTP_204_NO_CONTENT)


@get("/api/v1/me/access-log", tags=["sharing"], guards=[patients_only])
async def get_access_log(
    user: CurrentUser,
    pool: DbPool,
    limit: Annotated[int, Parameter(ge=1, le=LOG_PAGE_MAX)] = 50,
    before: Annotated[int | None, Parameter(ge=1)] = None,
) -> AccessLog:
    """Who saw, exported or changed the patient's data, and sign-ins and sharing: newest first."""
    return await sharing.access_log(pool, user, limit, before)


SHARE_ROUTES: list[ControllerRouterHandler] = [ShareController, get_access_log]
