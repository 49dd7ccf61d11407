"""The clinician's pages: the patient list, a patient's one-page summary, and entering a code.

Server-rendered, no script needed, printable on two pages. The access check and the audit are
the JSON API's own (server/services/clinic.py); a signed-out visitor is sent to
/login, anyone without access gets 404.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import ControllerRouterHandler

from server.domain.accounts import User
from server.domain.alerts import KIND_LABELS, NOTE_MAX, Alert
from server.domain.flags import PINNED, Flag
from server.domain.infusion_effects import BUCKETS
from server.domain.instruments import GAD7, PHQ9
from server.domain.scores import NO_BASELINE, Phq9Part
from server.domain.summary import Summary
from server.errors import AppError
from server.pwa import charts
from server.services import alerts, clinic
from server.services.clinic import Preset, SummaryPage
from server.services.sharing import accept_share
from server.timeutil import local_day, utc_now
from server.web import CurrentUser, DbPool, client_address, clinicians_only, patient_data

AnyRequest = Request[Any, Any, Any]
PRESETS: tuple[tuple[Preset, str], ...] = (
    ("since_infusion", "Since last infusion"),
    ("30", "30 days"),
    ("90", "90 days"),
    ("all", "All"),
)
PRINT_ROWS = 12  # flags and afterglow rows shown, so the page prints on two sheets
BAND_LABELS = {b.id: b.label for b in (*PHQ9.bands, *GAD7.bands)}
FLAG_LABELS = {
    "item9": "PHQ-9 item 9",
    "relapse": "Relapse",
    "mood_drop": "Mood drop",
    "persisting_severe_effect": "Severe side effect persisting",
    "phq9_worse": "PHQ-9 worse",
    "severe_side_effect": "Severe side effect",
    "phq9_overdue": "PHQ-9 overdue",
    "no_checkin": "No check-in",
}
TREND_LABELS = {
    "relapse": "Relapse",
    "remission": "Remission",
    "response": "Response",
    "partial response": "Partial response",
    "no response": "No response yet",
    "worse": "Worse",
}
ENDED_LABELS = {
    "fell_back": "back to the pre-infusion level",
    "next_infusion": "until the next infusion",
    "ongoing": "still above (as of the last check-in)",
    "not_enough_data": "fewer than 3 check-ins in the week before",
}
BUCKET_LABELS = {"0": "Day 0", "1": "Day 1", "2": "Day 2", "3+": "Day 3+", "none": "Before"}
FAILURE_LABELS = {
    "gone": "the device was unsubscribed",
    "retry": "the push service was busy or out of reach",
    "timeout": "the push service did not answer in time",
    "vapid_rejected": "the push service refused the clinic's credentials",
    "rejected": "it was refused",  # by the push service, or by us: not an allowed push service
    "error": "it could not be sent",
}


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return "never"
    local = moment.astimezone(zone)
    return f"{local:%b} {local.day}, {local.year} {local:%H:%M}"


def _day(day: date | None) -> str:
    return "—" if day is None else f"{day:%b} {day.day}, {day.year}"


def _short_day(day: date, year: int) -> str:
    """A day in a table: the year only when it is not the range's."""
    return f"{day:%b} {day.day}" + ("" if day.year == year else f", {day.year}")


def _pct(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:+.0f}%".replace("-", "−")


@get("/clinician", include_in_schema=False, guards=[clinicians_only])
async def patient_list(request: AnyRequest, pool: DbPool, user: CurrentUser) -> Template:
    now = utc_now()
    rows = await clinic.clinician_patients(pool, user, client_address(request))
    patients = []
    for r in rows:
        o = r.overview
        since = (
            None if o.last_checkin_day is None else (local_day(now, user.zone) - o.last_checkin_day)
        )
        patients.append(
            {
                "id": r.patient_id,
                "name": r.display_name,
                "last_checkin": _day(o.last_checkin_day),
                "days_since": None if since is None else since.days,
                "phq9": o.phq9.latest,
                "band": BAND_LABELS.get(o.phq9.latest_band or "", ""),
                "phq9_day": _day(o.phq9.latest_day),
                "change": _pct(o.phq9.change_pct),
                "trend": _trend(o.trend, o.phq9),
                "flags": [
                    {"label": FLAG_LABELS[f.kind], "day": _day(f.day), "detail": f.detail}
                    for f in o.flags
                ],
                "urgent": any(f.kind == "item9" for f in o.flags),
            }
        )
    open_alerts = await alerts.alerts_for(pool, user, "open", client_address(request))
    return Template(
        "clinician/patients.html",
        context={
            "user": user,
            "patients": patients,
            "alerts": [_alert(a, user.zone) for a in open_alerts],
            "page": "clinician-patients",
        },
    )


def _alert(alert: Alert, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": alert.id,
        "patient_id": alert.patient_id,
        "patient_name": alert.patient_name,
        "kind": alert.kind,
        "label": KIND_LABELS[alert.kind],
        "day": _day(alert.day),
        "raised": _when(alert.raised_at, zone),
        "detail": alert.detail,
        "open": alert.acknowledged_at is None,
        "acknowledged": _when(alert.acknowledged_at, zone),
        "note": alert.note,
    }


@get("/clinician/patients/{patient_id:str}", include_in_schema=False, guards=[patient_data])
async def patient_summary(
    request: AnyRequest,
    patient_id: str,
    pool: DbPool,
    user: CurrentUser,
    preset: Annotated[Preset, Parameter(query="range")] = "90",
) -> Template:
    """The patient's one printable page: for a clinician with a share, or the patient."""
    page = await clinic.summary_page(pool, user, patient_id, preset, client_address(request))
    context = _summary_context(user, page, preset)
    if user.role == "clinician":  # their own alerts about the patient, open ones pinned on top
        history = await alerts.history_of(pool, user, patient_id)
        context["alerts"] = [_alert(a, user.zone) for a in history]
    return Template("clinician/summary.html", context=context)


def _trend(trend: str | None, phq9: Phq9Part) -> str:
    if trend is not None:
        return TREND_LABELS[trend]
    return "No verdict: " + (phq9.verdict_note or NO_BASELINE)


def _verdict(value: bool | None, phq9: Phq9Part) -> str:
    """Yes or No on the latest PHQ-9, or why there is no verdict: never a "No" for want of a
    baseline."""
    if value is None:
        return f"— {phq9.verdict_note or NO_BASELINE}"
    return "Yes" if value else "No"


def printed_flags(flags: list[Flag]) -> list[Flag]:
    """What the printed page lists: every pinned flag (item 9), then the newest others while
    the page has rows left."""
    pinned = [f for f in flags if f.kind in PINNED]
    others = [f for f in flags if f.kind not in PINNED]
    return pinned + others[: max(0, PRINT_ROWS - len(pinned))]


def _retracted(summary: Summary) -> list[str]:
    """The questionnaires in the range the patient retracted, in words, oldest first."""
    points = [("PHQ-9", p) for p in summary.phq9.series] + [
        ("GAD-7", p) for p in summary.gad7.series
    ]
    return [
        f"{name} {p.total} on {_short_day(p.day, summary.last.year)} (retracted "
        f"{_short_day(p.retracted_at.date(), summary.last.year)})"
        for name, p in sorted(points, key=lambda pair: pair[1].taken_at)
        if p.retracted_at is not None
    ]


def _summary_context(viewer: User, page: SummaryPage, preset: Preset) -> dict[str, Any]:
    summary, reach, now = page.summary, page.reach, page.now
    phq9, gad7 = summary.phq9, summary.gad7
    flags = printed_flags(summary.flags)
    glow = summary.afterglow[-PRINT_ROWS:]
    effects = summary.side_effects
    return {
        "page": "clinician-summary",
        "user": viewer,
        "patient": page.patient,
        "first": _day(summary.first),
        "last": _day(summary.last),
        "preset": preset,
        "presets": PRESETS,
        "last_infusion": _day(page.last_infusion),
        "phq9": phq9,
        "phq9_band": BAND_LABELS.get(phq9.latest_band or "", ""),
        "phq9_baseline_day": _day(phq9.baseline_day),
        "phq9_latest_day": _day(phq9.latest_day),
        "phq9_change": _pct(phq9.change_pct),
        "response": _verdict(phq9.response, phq9),
        "remission": _verdict(phq9.remission, phq9),
        "trend": _trend(summary.trend, phq9),
        "retracted": _retracted(summary),
        "gad7": gad7,
        "gad7_band": BAND_LABELS.get(gad7.latest_band or "", ""),
        "gad7_latest_day": _day(gad7.latest_day),
        "adherence": summary.adherence,
        "adherence_pct": (
            None if summary.adherence.ratio is None else round(summary.adherence.ratio * 100)
        ),
        "last_checkin": _day(summary.last_checkin_day),
        "flags": [
            {
                "label": FLAG_LABELS[f.kind],
                "kind": f.kind,
                "day": _short_day(f.day, summary.last.year),
                "detail": f.detail,
            }
            for f in flags
        ],
        "more_flags": len(summary.flags) - len(flags),
        "mood_chart": charts.clinician_mood(summary),
        "scores_chart": charts.clinician_scores(summary),
        "buckets": [(b, BUCKET_LABELS[b], effects.checkins_by_day[b]) for b in BUCKETS],
        "effects": effects,
        "afterglow": [
            {
                "day": _short_day(g.day, summary.last.year),
                "pre_level": "—" if g.pre_level is None else f"{g.pre_level:.1f}",
                "days": "—" if g.days is None else g.days,
                "ended": ENDED_LABELS[g.ended],
            }
            for g in glow
        ],
        "more_afterglow": len(summary.afterglow) - len(glow),
        "reach": reach,
        "last_delivery": _when(reach.last_delivery_at, viewer.zone),
        "last_failure": _when(reach.last_failure_at, viewer.zone),
        "last_failure_outcome": FAILURE_LABELS.get(reach.last_failure_outcome or "", ""),
        "generated": _when(now, viewer.zone),
        "export_from": summary.first.isoformat(),
        "export_to": summary.last.isoformat(),
    }


Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _form_post(path: str) -> post:
    """A clinician's form, sent by the browser: answered with a redirect (303) to what is next."""
    return post(
        path, include_in_schema=False, status_code=HTTP_303_SEE_OTHER, guards=[clinicians_only]
    )


@get("/clinician/accept", include_in_schema=False, guards=[clinicians_only])
async def accept_form(user: CurrentUser) -> Template:
    return Template("clinician/accept.html", context={"user": user, "page": "clinician-accept"})


@_form_post("/clinician/accept")
async def accept_submit(
    request: AnyRequest,
    pool: DbPool,
    user: CurrentUser,
    data: Form,
) -> Template | Redirect:
    code = data.get("code", "")[:40]
    try:
        share = await accept_share(pool, user, code, client_address(request))
    except AppError as error:
        return Template(
            "clinician/accept.html",
            context={"user": user, "page": "clinician-accept", "error": error.detail, "code": code},
            status_code=error.status,
            headers=error.headers,
        )
    return Redirect(f"/clinician/patients/{share.patient_id}", status_code=HTTP_303_SEE_OTHER)


@_form_post("/clinician/alerts/{alert_id:str}/acknowledge")
async def acknowledge_alert(
    request: AnyRequest,
    alert_id: FromPath[str],
    pool: DbPool,
    user: CurrentUser,
    data: Form,
) -> Redirect:
    """The acknowledge button of the list and the summary; back to the page it was on."""
    note = data.get("note", "").strip()[:NOTE_MAX] or None
    alert = await alerts.acknowledge(pool, user, alert_id, note, client_address(request))
    back = (
        f"/clinician/patients/{alert.patient_id}#alerts"
        if data.get("back") == "summary"
        else "/clinician#alerts"
    )
    return Redirect(back, status_code=HTTP_303_SEE_OTHER)


CLINICIAN_PAGES: list[ControllerRouterHandler] = [
    patient_list,
    patient_summary,
    accept_form,
    accept_submit,
    acknowledge_alert,
]
