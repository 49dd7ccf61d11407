"""A patient's data seen through a share: the summary, exports, and infusions a clinician may
add or move. The patient may use these too (their own id). Anyone else gets 404.

Every clinician view, export and change writes one audit row (``access.audit_clinician``) in
the same transaction as the read, so a view is never shown without its trail.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, put
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from litestar.types import ControllerRouterHandler

from server import security
from server.access import Access, audit_clinician, patient_access
from server.api import AppSettings, CurrentUser, DbPool, JSONBody
from server.api.checkins import SUPERSEDED
from server.api.entries import (
    PAGE_DEFAULT,
    PAGE_MAX,
    Page,
    change_time,
    paginate,
    parse_entry_id,
    read_page_token,
)
from server.api.infusions import InfusionPut, record_infusion
from server.db import Connection, transaction
from server.domain.accounts import User
from server.domain.exports import export_csv, fhir_bundle
from server.domain.flags import Flag
from server.domain.records import Infusion
from server.domain.summary import Summary
from server.problems import Conflict, InvalidField, NotFound
from server.store import audit
from server.store import infusions as infusion_store
from server.store import summary as summary_store
from server.timeutil import local_day, utc_now

DEFAULT_DAYS = 90
MAX_DAYS = 3660  # ten years: "all" for anyone in treatment today
AnyRequest = Request[Any, Any, Any]
From = Annotated[date | None, Parameter(query="from", description="first local day")]
To = Annotated[date | None, Parameter(query="to", description="last local day")]


def parse_patient_id(raw: str) -> UUID:
    """A malformed id is as unknown as someone else's: 404, never 400."""
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound("No such patient.") from None


async def open_patient(conn: Connection, viewer: User, raw_id: str) -> tuple[Access, User]:
    access = await patient_access(conn, viewer, parse_patient_id(raw_id))
    return access, await summary_store.patient_account(conn, access)


def summary_range(first: date | None, last: date | None, today: date) -> tuple[date, date]:
    """Local days; without them, the 90 days up to today."""
    last = last or (today if first is None else first + timedelta(days=DEFAULT_DAYS - 1))
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidField("from", "`from` is after `to`.")
    if (last - first).days >= MAX_DAYS:
        raise InvalidField("from", f"Ask for at most {MAX_DAYS} days at a time.")
    return first, last


def _range_detail(first: date | None, last: date | None) -> dict[str, Any]:
    return {"from": None if first is None else first.isoformat(), "to": last and last.isoformat()}


class PatientRef(msgspec.Struct):
    id: UUID
    display_name: str


class Phq9Line(msgspec.Struct, kw_only=True):
    baseline: int | None
    latest: int | None
    latest_day: date | None
    latest_band: str | None
    change_pct: float | None
    response: bool
    remission: bool


class ClinicianPatient(msgspec.Struct, kw_only=True):
    patient: PatientRef
    shared_since: datetime
    last_checkin_day: date | None
    phq9: Phq9Line
    trend: str | None
    flags: list[Flag]


def triage_order(row: summary_store.PatientRow) -> tuple[int, int, str]:
    """Flags first (item 9 before anything else), then by name."""
    kinds = {f.kind for f in row.overview.flags}
    urgency = 0 if "item9" in kinds else 1 if kinds else 2
    return urgency, -len(row.overview.flags), row.display_name.lower()


async def clinician_patients(
    conn: Connection, clinician: User, now: datetime, address: str
) -> list[summary_store.PatientRow]:
    """The list, sorted for triage; each patient on it gets one audit row."""
    rows = sorted(await summary_store.clinician_overview(conn, clinician, now), key=triage_order)
    await audit.record_many(
        conn,
        actor=clinician,
        patient_ids=[r.patient_id for r in rows],
        action="view_patient_list",
        address=address,
    )
    return rows


class PatientDataController(Controller):
    path = "/api/v1/patients/{patient_id:str}"
    tags = ["sharing"]
    dependencies = {"user": Provide(security.provide_user)}

    @get("/summary")
    async def summary(
        self,
        request: AnyRequest,
        patient_id: str,
        user: CurrentUser,
        pool: DbPool,
        first: From = None,
        last: To = None,
    ) -> Summary:
        """The numbers behind the summary page for local days ``from``..``to`` (default: the
        last 90 days). Definitions: server/domain/summary.py."""
        now = utc_now()
        async with transaction(pool) as conn:
            access, patient = await open_patient(conn, user, patient_id)
            first, last = summary_range(first, last, local_day(now, patient.zone))
            result = await summary_store.patient_summary(
                conn, access, patient, first=first, last=last, now=now
            )
            await audit_clinician(
                conn,
                access,
                "view_summary",
                address=security.client_address(request),
                detail=_range_detail(first, last),
            )
        return result

    @get("/export.csv")
    async def export_csv(
        self,
        request: AnyRequest,
        patient_id: str,
        user: CurrentUser,
        pool: DbPool,
        first: From = None,
        last: To = None,
    ) -> Response[str]:
        """Every entry (or those on local days ``from``..``to``), one row each; the columns
        are documented in server/domain/exports.py."""
        async with transaction(pool) as conn:
            access, patient = await open_patient(conn, user, patient_id)
            checkins = await summary_store.checkins_in_range(conn, access, first, last)
            assessments = await summary_store.assessments_in_range(conn, access, first, last)
            infusions = await summary_store.infusions_in_range(conn, access, first, last)
            await audit_clinician(
                conn,
                access,
                "export_csv",
                address=security.client_address(request),
                detail=_range_detail(first, last),
            )
        return Response(
            export_csv(checkins, assessments, infusions, patient.zone),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="afterglow-log.csv"'},
        )

    @get("/export.fhir")
    async def export_fhir(
        self,
        request: AnyRequest,
        patient_id: str,
        user: CurrentUser,
        pool: DbPool,
        settings: AppSettings,
        first: From = None,
        last: To = None,
    ) -> Response[bytes]:
        """A FHIR R4 Bundle (collection): QuestionnaireResponses with their score Observations,
        check-in Observations and infusion Procedures."""
        now = utc_now()
        async with transaction(pool) as conn:
            access, patient = await open_patient(conn, user, patient_id)
            checkins = await summary_store.checkins_in_range(conn, access, first, last)
            assessments = await summary_store.assessments_in_range(conn, access, first, last)
            infusions = await summary_store.infusions_in_range(conn, access, first, last)
            await audit_clinician(
                conn,
                access,
                "export_fhir",
                address=security.client_address(request),
                detail=_range_detail(first, last),
            )
        bundle = fhir_bundle(
            patient, checkins, assessments, infusions, base_url=settings.public_url, now=now
        )
        return Response(
            msgspec.json.encode(bundle),
            media_type="application/fhir+json",
            headers={"Content-Disposition": 'attachment; filename="afterglow-log.fhir.json"'},
        )

    @get("/infusions")
    async def list_infusions(
        self,
        request: AnyRequest,
        patient_id: str,
        user: CurrentUser,
        pool: DbPool,
        first: From = None,
        last: To = None,
        limit: Annotated[int, Parameter(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> Page[Infusion]:
        """The patient's infusions, latest scheduled first."""
        if first is not None and last is not None and first > last:
            raise InvalidField("from", "`from` is after `to`.")
        before = read_page_token(cursor)
        async with transaction(pool) as conn:
            access = await patient_access(conn, user, parse_patient_id(patient_id))
            items = await infusion_store.infusions_between(
                conn, access, first, last, limit=limit + 1, before=before
            )
            await audit_clinician(
                conn, access, "view_infusions", address=security.client_address(request)
            )
        return paginate(items, limit, lambda item: (item.scheduled_at, item.id))

    @put("/infusions/{infusion_id:str}", status_code=HTTP_200_OK)
    async def put_infusion(
        self,
        request: AnyRequest,
        patient_id: str,
        infusion_id: str,
        data: JSONBody[InfusionPut],
        user: CurrentUser,
        pool: DbPool,
    ) -> Response[Infusion]:
        """Add or move one of the patient's infusions (the same rules as the patient's own
        ``PUT /infusions/{id}``); the change is recorded as the clinician's."""
        now = utc_now()
        updated_at = change_time(data.updated_at, now)
        async with transaction(pool) as conn:
            access, patient = await open_patient(conn, user, patient_id)
            entry_id = parse_entry_id(infusion_id)
            written, stored = await record_infusion(
                conn,
                access,
                patient.zone,
                entry_id,
                data,
                updated_at=updated_at,
                updated_by=user.id,
                now=now,
            )
            if written.outcome == "superseded":
                raise Conflict(SUPERSEDED, field="updated_at")
            if stored is None:
                stored = await infusion_store.infusion_by_id(conn, access, entry_id)
            if written.outcome == "applied":
                await audit_clinician(
                    conn,
                    access,
                    "infusion_change",
                    address=security.client_address(request),
                    detail={"infusion_id": str(entry_id), "status": data.status},
                )
        if stored is None:
            raise NotFound("No such infusion.")
        return Response(stored, status_code=HTTP_201_CREATED if written.inserted else HTTP_200_OK)


@get(
    "/api/v1/clinician/patients",
    tags=["sharing"],
    dependencies={"user": Provide(security.provide_clinician)},
)
async def list_clinician_patients(
    request: AnyRequest, user: CurrentUser, pool: DbPool
) -> list[ClinicianPatient]:
    """Every patient sharing with this clinician: latest PHQ-9, trend since baseline, and the
    flags of the last 28 days; flagged patients first."""
    async with transaction(pool) as conn:
        rows = await clinician_patients(conn, user, utc_now(), security.client_address(request))
    return [
        ClinicianPatient(
            patient=PatientRef(id=r.patient_id, display_name=r.display_name),
            shared_since=r.shared_since,
            last_checkin_day=r.overview.last_checkin_day,
            phq9=Phq9Line(
                baseline=r.overview.phq9.baseline,
                latest=r.overview.phq9.latest,
                latest_day=r.overview.phq9.latest_day,
                latest_band=r.overview.phq9.latest_band,
                change_pct=r.overview.phq9.change_pct,
                response=r.overview.phq9.response,
                remission=r.overview.phq9.remission,
            ),
            trend=r.overview.trend,
            flags=r.overview.flags,
        )
        for r in rows
    ]


PATIENT_ROUTES: list[ControllerRouterHandler] = [PatientDataController, list_clinician_patients]
