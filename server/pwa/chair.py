"""The chair, on the clinic's tablet (issue 16): one page per session where a nurse records the
dose, the vital signs three times, the dissociation rating and the discharge, saving as the
session goes (each save keeps everything entered so far). A value out of range comes back on
the same page with the field named; a blood pressure above the clinic's threshold before
dosing shows as a warning. The summary lists the courses and sessions with a link here."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from server.domain.chair import ADVERSE_EVENT_CODES, MOMENT_LABELS, MOMENTS, SessionRecordIn
from server.domain.courses import DRUGS, KIND_LABELS
from server.domain.records import Infusion
from server.domain.summary import Summary
from server.errors import AppError, convert
from server.i18n import N_, current, gettext
from server.pwa import findings
from server.services import chair
from server.services.chair import ChairPage
from server.timeutil import utc_now
from server.web import CurrentUser, DbPool, client_address, clinicians_only

AnyRequest = Request[Any, Any, Any]
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
VITAL_FIELDS = (
    ("systolic", N_("Systolic")),
    ("diastolic", N_("Diastolic")),
    ("heart_rate", N_("Heart rate")),
)
ADVERSE_LABELS = {
    "hypertension": N_("Hypertension"),
    "tachycardia": N_("Tachycardia"),
    "nausea": N_("Nausea"),
    "vomiting": N_("Vomiting"),
    "emergence_reaction": N_("Emergence reaction"),
    "excessive_dissociation": N_("Excessive dissociation"),
    "oxygen_desaturation": N_("Oxygen desaturation"),
    "headache": N_("Headache"),
    "dizziness": N_("Dizziness"),
    "anxiety": N_("Anxiety"),
    "other": N_("Other"),
}
VERDICT_LABELS = {
    "no verdict": N_("no verdict"),
    "relapse": N_("relapse"),
    "remission": N_("remission"),
    "response": N_("response"),
    "no response": N_("no response"),
}
PATH = "/clinician/patients/{patient_id:str}/sessions/{infusion_id:str}"


def _(message: str) -> str:
    """``message`` in the reader's language (the clinician's)."""
    return gettext(current(), message)


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime("%H:%M")


def _values(page: ChairPage) -> dict[str, Any]:
    """The form's fields as they stand: the record so far, or the plan's defaults."""
    zone, record, infusion = page.patient.zone, page.record, page.infusion
    start = record.started_at if record and record.started_at else infusion.scheduled_at
    end = (
        record.ended_at
        if record and record.ended_at
        else start + timedelta(minutes=infusion.duration_minutes)
    )
    found: dict[str, Any] = {
        "drug": page.drug,
        "started": _local(start, zone),
        "ended": _local(end, zone),
        "discharged": _local(record.discharged_at if record else None, zone),
    }
    if record is None:
        return found
    for name in ("weight_kg", "dose_mg_per_kg", "dose_mg", "dissociation", "feeling"):
        value = getattr(record, name)
        found[name] = "" if value is None else f"{value:g}"
    found["feeling_note"] = record.feeling_note or ""
    found["left_with"] = record.left_with or ""
    found["adverse"] = {e.code for e in record.adverse_events}
    for moment in MOMENTS:
        vitals = getattr(record.vitals, moment)
        for field, _ in VITAL_FIELDS:
            found[f"{moment}_{field}"] = "" if vitals is None else getattr(vitals, field)
    return found


def _context(page: ChairPage, user: Any, **extra: Any) -> dict[str, Any]:
    infusion = page.infusion
    return {
        "page": "clinician-chair",
        "user": user,
        "patient": page.patient,
        "infusion": infusion,
        "when": _session_when(infusion.scheduled_at.astimezone(page.patient.zone)),
        "drugs": [(key, _(info.label)) for key, info in DRUGS.items()],
        "moments": [(m, _(MOMENT_LABELS[m])) for m in MOMENTS],
        "vital_fields": [(field, _(label)) for field, label in VITAL_FIELDS],
        "adverse_codes": [
            (c, _(ADVERSE_LABELS.get(c, c.replace("_", " ").capitalize())))
            for c in ADVERSE_EVENT_CODES
        ],
        "values": _values(page),
        "warning": page.warning,
        "threshold": "{}/{}".format(*page.limits.bp_threshold),
        "error": None,
        "saved": False,
        **extra,
    }


def _session_when(local: datetime) -> str:
    """ "Tue 3 Mar 2026, 09:00" in the reader's language."""
    language = current()
    if language != "en":
        return format_datetime(local, "EEE d MMM y, HH:mm", locale=language)
    return local.strftime("%a %-d %b %Y, %H:%M")


@get(PATH, include_in_schema=False, guards=[clinicians_only])
async def chair_form(
    request: AnyRequest, patient_id: str, infusion_id: str, user: CurrentUser, pool: DbPool
) -> Template:
    page = await chair.chair_page(
        pool, user, patient_id, infusion_id, address=client_address(request)
    )
    saved = request.query_params.get("saved") == "1"
    return Template("clinician/chair.html", context=_context(page, user, saved=saved))


def _at(text: str, infusion: Infusion, zone: ZoneInfo) -> str | None:
    """A local HH:MM on the session's day, as an ISO time; empty: none."""
    if not text:
        return None
    hour, _, minute = text.partition(":")
    day = infusion.scheduled_at.astimezone(zone).date()
    try:
        local = datetime(day.year, day.month, day.day, int(hour), int(minute), tzinfo=zone)
    except ValueError:
        return text  # left to the strict conversion, which names the field
    return local.isoformat()


def _record_in(form: dict[str, Any], page: ChairPage, now: datetime) -> SessionRecordIn:
    def text(name: str) -> str:
        value = form.get(name, "")
        chosen = value[-1] if isinstance(value, list) else value
        return str(chosen).strip()

    zone = page.patient.zone
    raw: dict[str, Any] = {"drug": text("drug") or page.drug}
    for name in ("weight_kg", "dose_mg_per_kg", "dose_mg", "dissociation", "feeling"):
        if text(name):
            raw[name] = text(name)
    for name, field in (("started", "started_at"), ("ended", "ended_at")):
        raw[field] = _at(text(name), page.infusion, zone)
    discharged = _at(text("discharged"), page.infusion, zone)
    if form.get("discharge_now"):
        discharged = now.isoformat()
    raw["discharged_at"] = discharged
    for moment in MOMENTS:
        parts = {f: text(f"{moment}_{f}") for f, _ in VITAL_FIELDS}
        if any(parts.values()):
            raw[moment] = parts
    chosen = form.get("adverse", [])
    codes = chosen if isinstance(chosen, list) else [chosen]
    raw["adverse_events"] = [{"code": c} for c in codes if c]
    for name in ("feeling_note", "left_with"):
        raw[name] = text(name) or None
    return convert(raw, SessionRecordIn, "", strict=False)


@post(PATH, include_in_schema=False, guards=[clinicians_only], status_code=HTTP_303_SEE_OTHER)
async def chair_save(
    request: AnyRequest,
    patient_id: str,
    infusion_id: str,
    data: Form,
    user: CurrentUser,
    pool: DbPool,
) -> Template | Redirect:
    address = client_address(request)
    page = await chair.chair_page(pool, user, patient_id, infusion_id, address=address)
    try:
        sent = _record_in(data, page, utc_now())
        await chair.save_record(pool, user, patient_id, infusion_id, sent, address=address)
    except AppError as exc:
        if exc.status >= 500:
            raise
        field = f" ({exc.field})" if exc.field else ""
        values = {**_values(page), **{k: v for k, v in data.items() if isinstance(v, str)}}
        context = _context(page, user, error=f"{_(exc.detail)}{field}", values=values)
        return Template("clinician/chair.html", context=context, status_code=exc.status)
    return Redirect(f"{request.url.path}?saved=1", status_code=HTTP_303_SEE_OTHER)


def infusion_day_context(summary: Summary) -> dict[str, Any]:
    """The summary page's courses and sessions (templates/clinician/_infusion_day.html)."""
    return {
        "courses": [
            {
                "kind": _(KIND_LABELS[c.course.kind]),
                "drug": _(DRUGS[c.course.drug].label),
                "current": c.current,
                "progress": _("{given} of {total} given").format(
                    given=c.progress.given, total=c.progress.total
                ),
                "days": f"{c.first_day or '—'} – {c.last_day or '—'}",
                "baseline": "—" if c.phq9.baseline is None else c.phq9.baseline,
                "latest": "—" if c.phq9.latest is None else c.phq9.latest,
                "verdict": _verdict(c.phq9.response, c.phq9.remission, c.phq9.relapse),
                "note": findings.in_words(c.phq9.verdict_said) or None,
            }
            for c in summary.courses
        ],
        "sessions": [
            {
                "id": s.infusion_id,
                "day": s.day,
                "dose": _dose(s.dose_mg, s.dose_mg_per_kg),
                "bp": " → ".join(b or "—" for b in (s.bp_before, s.bp_peak, s.bp_discharge)),
                "dissociation": "—" if s.dissociation is None else s.dissociation,
                "mood_after": " · ".join("—" if m is None else f"{m:.1f}" for m in s.mood_after),
                "warning": s.warning,
            }
            for s in summary.sessions
        ],
        "to_record": [
            {"id": i.id, "day": i.day, "given": i.given}
            for i in summary.infusions[-6:]
            if i.id not in {s.infusion_id for s in summary.sessions}
        ],
    }


def _verdict(response: bool | None, remission: bool | None, relapse: bool | None) -> str:
    if response is None:
        verdict = "no verdict"
    elif relapse:
        verdict = "relapse"
    else:
        verdict = "remission" if remission else "response" if response else "no response"
    return _(VERDICT_LABELS[verdict])


def _dose(mg: float | None, per_kg: float | None) -> str:
    if mg is None:
        return "—"
    return f"{mg:g} mg" + ("" if per_kg is None else f" ({per_kg:g} mg/kg)")


CHAIR_PAGES = [chair_form, chair_save]
