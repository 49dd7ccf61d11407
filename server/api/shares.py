"""Sharing with a clinician: codes, acceptance, revocation, and the patient's access log.

A patient makes a single-use code and reads it to their clinician, who enters it. Failed
entries count against the clinician's account and address in the login throttle's table, so a
code cannot be guessed (50 bits, at most ``ACCEPT_LIMIT`` wrong tries per 15 minutes).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from litestar.types import ControllerRouterHandler

from server import security
from server.api import CurrentUser, DbPool, Input, JSONBody
from server.db import Pool, transaction
from server.domain.accounts import User
from server.domain.sharing import (
    CODE_LIFETIME,
    Party,
    Share,
    ShareStatus,
    code_hash,
    new_code,
    normalise_code,
)
from server.problems import AppError, NotFound
from server.store import audit, throttle
from server.store import shares as share_store
from server.timeutil import utc_now

ACCEPT_LIMIT = 10  # wrong codes per clinician account per throttle window (15 minutes)
ADDRESS_LIMIT = 30
LOG_PAGE_MAX = 200
DEFAULT_HOURS = int(CODE_LIFETIME.total_seconds() // 3600)

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


class LogActor(msgspec.Struct):
    id: UUID | None
    name: str
    role: str


class LogEntry(msgspec.Struct):
    id: int
    at: datetime
    actor: LogActor
    action: str
    address: str
    detail: dict[str, Any] | None


class AccessLog(msgspec.Struct):
    items: list[LogEntry]
    next: int | None  # pass as ?before= for the following (older) page


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


# --- the steps, shared by the JSON API and the pages --------------------------------------------


async def create_share(
    pool: Pool, patient: User, address: str, hours: int = DEFAULT_HOURS
) -> tuple[Share, str]:
    code = new_code()
    lifetime = timedelta(hours=hours)
    async with transaction(pool) as conn:
        share = await share_store.create_share(
            conn, patient_id=patient.id, code_hash=code_hash(code), expires_at=utc_now() + lifetime
        )
        await audit.record(
            conn,
            actor=patient,
            patient_id=patient.id,
            action="share_create",
            address=address,
            detail={"share_id": str(share.id)},
        )
    return share, code


async def accept_share(pool: Pool, clinician: User, typed: str, address: str) -> Share:
    """Bind a code to the clinician, or raise: 400 malformed, 404 unknown/used/expired/revoked,
    409 already shared, 429 too many wrong codes."""
    keys = [f"share:acct:{clinician.id}", f"share:addr:{address}"]
    async with transaction(pool) as conn:
        counts = await throttle.recent_failures(conn, keys, security.THROTTLE_WINDOW)
    for key, limit in zip(keys, (ACCEPT_LIMIT, ADDRESS_LIMIT), strict=True):
        failures, retry = counts.get(key, (0, 0.0))
        if failures >= limit:
            seconds = max(1, math.ceil(retry))
            raise security.TooManyAttempts(
                f"Too many wrong codes. Try again in {math.ceil(seconds / 60)} minutes.",
                headers={"Retry-After": str(seconds)},
            )
    normalise_code(typed)  # a malformed code is a typing slip, not a guess: 400, not counted
    async with transaction(pool) as conn:
        share = await share_store.accept_code(
            conn, code_hash=code_hash(typed), clinician_id=clinician.id
        )
        if share is not None:
            await audit.record(
                conn,
                actor=clinician,
                patient_id=share.patient_id,
                action="share_accept",
                address=address,
                detail={"share_id": str(share.id)},
            )
    if share is None:
        async with transaction(pool) as conn:
            await throttle.record_failure(conn, keys, security.THROTTLE_WINDOW)
        raise AppError(
            "This code is not valid: it may be mistyped, already used, expired or withdrawn. "
            "Ask the patient for a new one.",
            status=404,
            field="code",
        )
    return share


async def revoke_share(pool: Pool, patient: User, share_id: UUID, address: str) -> Share:
    async with transaction(pool) as conn:
        share = await share_store.revoke(conn, share_id=share_id, patient_id=patient.id)
        if share is None:
            raise NotFound("No such share.")
        await audit.record(
            conn,
            actor=patient,
            patient_id=patient.id,
            action="share_revoke",
            address=address,
            detail={"share_id": str(share.id)},
        )
    return share


async def shares_for(pool: Pool, user: User) -> list[Share]:
    async with transaction(pool) as conn:
        if user.role == "clinician":
            return await share_store.shares_of_clinician(conn, user.id)
        return await share_store.shares_of_patient(conn, user.id)


async def access_log(pool: Pool, patient: User, limit: int, before: int | None) -> AccessLog:
    async with transaction(pool) as conn:
        events = await audit.events_of_patient(conn, patient.id, limit=limit + 1, before=before)
    more = len(events) > limit
    events = events[:limit]
    return AccessLog(
        items=[
            LogEntry(
                id=e.id,
                at=e.at,
                actor=LogActor(id=e.actor_id, name=e.actor_name, role=e.actor_role),
                action=e.action,
                address=e.address,
                detail=e.detail,
            )
            for e in events
        ],
        next=events[-1].id if more and events else None,
    )


# --- HTTP ----------------------------------------------------------------------------------------


class ShareController(Controller):
    path = "/api/v1/shares"
    tags = ["sharing"]
    dependencies = {"user": Provide(security.provide_user)}

    @post("", status_code=HTTP_201_CREATED)
    async def create(
        self,
        request: AnyRequest,
        user: CurrentUser,
        pool: DbPool,
        data: JSONBody[ShareIn] | None = None,
    ) -> NewShare:
        """A single-use code for a clinician (patients only). Read it aloud or write it down:
        it is shown once."""
        if user.role != "patient":
            raise AppError("Only a patient can share their log.", status=403)
        hours = data.expires_in_hours if data else DEFAULT_HOURS
        share, code = await create_share(pool, user, security.client_address(request), hours)
        return NewShare(id=share.id, code=code, expires_at=share.expires_at)

    @post("/accept", status_code=HTTP_200_OK)
    async def accept(
        self, request: AnyRequest, data: JSONBody[AcceptIn], user: CurrentUser, pool: DbPool
    ) -> ShareOut:
        """Enter a patient's code (clinicians only)."""
        if user.role != "clinician":
            raise AppError("Only a clinician can accept a share code.", status=403)
        share = await accept_share(pool, user, data.code, security.client_address(request))
        return share_out(share, user, utc_now())

    @get("")
    async def list_shares(self, user: CurrentUser, pool: DbPool) -> list[ShareOut]:
        """Patient: who has access since when, and codes not used yet. Clinician: patients."""
        now = utc_now()
        return [share_out(s, user, now) for s in await shares_for(pool, user)]

    @delete("/{share_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def revoke(
        self, request: AnyRequest, share_id: str, user: CurrentUser, pool: DbPool
    ) -> Response[None]:
        """Withdraw a share or an unused code: the clinician's next request is refused."""
        try:
            parsed = UUID(share_id)
        except ValueError:
            raise NotFound("No such share.") from None
        if user.role != "patient":
            raise NotFound("No such share.")
        await revoke_share(pool, user, parsed, security.client_address(request))
        return Response(None, status_code=HTTP_204_NO_CONTENT)


@get(
    "/api/v1/me/access-log",
    tags=["sharing"],
    dependencies={"user": Provide(security.provide_patient)},
)
async def get_access_log(
    user: CurrentUser,
    pool: DbPool,
    limit: Annotated[int, Parameter(ge=1, le=LOG_PAGE_MAX)] = 50,
    before: Annotated[int | None, Parameter(ge=1)] = None,
) -> AccessLog:
    """Who saw, exported or changed the patient's data, and sign-ins and sharing: newest first."""
    return await access_log(pool, user, limit, before)


# How the access log names each action, for the patient.
ACTION_LABELS: dict[str, str] = {
    "sign_in": "Signed in",
    "share_create": "Made a share code",
    "share_accept": "Accepted a share code",
    "share_revoke": "Withdrew a share",
    "view_summary": "Viewed your summary",
    "view_patient_list": "Saw you in their patient list",
    "view_infusions": "Viewed your infusions",
    "export_csv": "Exported your log (CSV)",
    "export_fhir": "Exported your log (FHIR)",
    "infusion_change": "Changed an infusion",
}
SHARE_ROUTES: list[ControllerRouterHandler] = [ShareController, get_access_log]
