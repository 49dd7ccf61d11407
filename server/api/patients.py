"""A patient's data seen through a share: the summary, exports, and infusions a clinician may
add or move. The patient may use these too (their own id). Anyone else gets 404.

Every clinician view, export and change writes one audit row (server/services/clinic.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, put
from litestar.params import Parameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from litestar.types import ControllerRouterHandler

from server.api.entries import (
    PAGE_DEFAULT,
    PAGE_MAX,
    Page,
    paginate,
    parse_day,
    read_page_token,
)
from server.domain.accounts import User
from server.domain.checkins import AwareDateTime
from server.domain.exports import export_csv, export_filename, fhir_bundle
from server.domain.flags import Flag
from server.domain.infusions import InfusionContent
from server.domain.logbook import INFUSIONS
from server.domain.records import Infusion
from server.domain.summary import Summary
from server.services import clinic, logbook
from server.timeutil import local_day, utc_now
from server.web import (
    AppSettings,
    CurrentUser,
    DbPool,
    JSONBody,
    client_address,
    clinicians_only,
    patient_data,
)

AnyRequest = Request[Any, Any, Any]
From = Annotated[
    str | None,
    QueryParameter(name="from", max_length=10, description="first local day, YYYY-MM-DD"),
]
To = Annotated[
    str | None,
    QueryParameter(name="to", max_length=10, description="last local day, YYYY-MM-DD"),
]


class InfusionPut(InfusionContent, frozen=True, kw_only=True, forbid_unknown_fields=True):
    updated_at: AwareDateTime | None = None


class PatientRef(msgspec.Struct):
    id: UUID
    display_name: str


class Phq9Line(msgspec.Struct, kw_only=True):
    baseline: int | None
    latest: int | None
    latest_day: date | None
    latest_band: str | None
    change_pct: float | None
    # Point-in-time verdicts on the latest PHQ-9; null without an eligible baseline (why:
    # verdict_note). Definitions: server/domain/summary.py.
    response: bool | None
    remission: bool | None
    partial_response: bool | None
    relapse: bool | None
    verdict_note: str | None


class ClinicianPatient(msgspec.Struct, kw_only=True):
    patient: PatientRef
    shared_since: datetime
    last_checkin_day: date | None
    phq9: Phq9Line
    trend: str | None
    flags: list[Flag]


class PatientDataController(Controller):
    path = "/api/v1/patients/{patient_id:str}"
    tags = ["sharing"]
    guards = [patient_data]

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
        return await clinic.summary_of(
            pool,
            user,
            patient_id,
            parse_day(first, "from"),
            parse_day(last, "to"),
            client_address(request),
        )

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
        rows = await _rows(request, patient_id, user, pool, first, last, "export_csv")
        return Response(
            export_csv(
                rows.checkins,
                rows.assessments,
                rows.infusions,
                rows.patient.zone,
                language=user.language,  # the reader's: a clinician's own
            ),
            media_type="text/csv",  # Litestar adds the charset (utf-8) to a text type
            headers={"Content-Disposition": _attachment(rows.patient, user, "csv")},
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
        rows = await _rows(request, patient_id, user, pool, first, last, "export_fhir")
        bundle = fhir_bundle(
            rows.patient,
            rows.checkins,
            rows.assessments,
            rows.infusions,
            base_url=settings.public_url,
            now=utc_now(),
            records=rows.records,
            drugs=rows.drugs,
        )
        return Response(
            msgspec.json.encode(bundle),
            media_type="application/fhir+json",
            headers={"Content-Disposition": _attachment(rows.patient, user, "fhir.json")},
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
        before = read_page_token(cursor)
        items = await clinic.infusions_of(
            pool,
            user,
            patient_id,
            parse_day(first, "from"),
            parse_day(last, "to"),
            limit=limit + 1,
            before=before,
            address=client_address(request),
        )
        return paginate(items, limit, logbook.moment_of(INFUSIONS))

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
        stored, created = await clinic.change_infusion(
            pool,
            user,
            patient_id,
            infusion_id,
            data,
            client_updated_at=data.updated_at,
            address=client_address(request),
        )
        return Response(stored, status_code=HTTP_201_CREATED if created else HTTP_200_OK)


async def _rows(
    request: AnyRequest,
    patient_id: str,
    user: User,
    pool: DbPool,
    first: str | None,
    last: str | None,
    action: clinic.ExportAction,
) -> clinic.ExportRows:
    """What an export holds: every entry, or those on local days ``first``..``last``."""
    return await clinic.export_rows(
        pool,
        user,
        patient_id,
        parse_day(first, "from"),
        parse_day(last, "to"),
        action,
        client_address(request),
    )


def _attachment(patient: User, viewer: User, extension: str) -> str:
    """Content-Disposition (RFC 6266) for an export named for the patient and the viewer's
    day; a client too old for ``filename*`` gets the name without the initials."""
    day = local_day(utc_now(), viewer.zone)
    name = export_filename(patient.display_name, day, extension)
    if name.isascii():
        return f'attachment; filename="{name}"'
    plain = export_filename("", day, extension)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"


class ClinicianPatients(msgspec.Struct, kw_only=True):
    items: list[ClinicianPatient]
    next: str | None  # pass as ?cursor= for the following page (in name order)
    previous: str | None  # pass as ?cursor= for the page before


@get("/api/v1/clinician/patients", tags=["sharing"], guards=[clinicians_only])
async def list_clinician_patients(
    request: AnyRequest,
    user: CurrentUser,
    pool: DbPool,
    limit: Annotated[int, Parameter(ge=1, le=clinic.LIST_PAGE_MAX)] = clinic.LIST_PAGE,
    cursor: Annotated[str | None, Parameter(max_length=40)] = None,
) -> ClinicianPatients:
    """A page of the patients sharing with this clinician, in name order (``next`` and
    ``previous`` are the cursors of the pages beside it): latest PHQ-9, trend since baseline,
    and the flags of the last 28 days; within the page, flagged patients first."""
    found = await clinic.clinician_patients(
        pool, user, client_address(request), cursor=cursor, limit=limit
    )
    return ClinicianPatients(
        items=[
            ClinicianPatient(
                patient=PatientRef(id=r.patient_id, display_name=r.display_name),
                shared_since=r.shared_since,
                last_checkin_day=r.overview.last_checkin_day,
                phq9=msgspec.convert(r.overview.phq9, Phq9Line, from_attributes=True),
                trend=r.overview.trend,
                flags=r.overview.flags,
            )
            for r in found.rows
        ],
        next=found.next,
        previous=found.previous,
    )


PATIENT_ROUTES: list[ControllerRouterHandler] = [PatientDataController, list_clinician_patients]
