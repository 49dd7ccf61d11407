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
from server.domain.instruments import GAD7, PHQ9, in_language
from server.domain.said import Said
from server.domain.scores import NO_BASELINE, Phq9Part
from server.domain.summary import Summary
from server.errors import AppError
from server.i18n import N_, current, gettext, ngettext
from server.pwa import charts, dates, findings
from server.pwa.chair import infusion_day_context
from server.pwa.pages import SIDE_EFFECT_LABELS
from server.services import alerts, clinic
from server.services.clinic import Preset, SummaryPage
from server.services.sharing import accept_share
from server.timeutil import local_day, utc_now
from server.web import CurrentUser, DbPool, client_address, clinicians_only, patient_data

AnyRequest = Request[Any, Any, Any]
PRESETS: tuple[tuple[Preset, str], ...] = (
    ("since_infusion", N_("Since last infusion")),
    ("30", N_("30 days")),
    ("90", N_("90 days")),
    ("all", N_("All")),
)
PRINT_ROWS = 12  # flags and afterglow rows shown, so the page prints on two sheets
NOTES_SHOWN = 20  # the newest notes on the page; the CSV export has every one
NOTES_PRINTED = 5  # on paper, and each cut to PRINTED_NOTE_CHARS: one sheet for most patients
PRINTED_NOTE_CHARS = 240
FLAG_LABELS = {
    "item9": N_("PHQ-9 item 9"),
    "relapse": N_("Relapse"),
    "mood_drop": N_("Mood drop"),
    "persisting_severe_effect": N_("Severe side effect persisting"),
    "phq9_worse": N_("PHQ-9 worse"),
    "severe_side_effect": N_("Severe side effect"),
    "phq9_overdue": N_("PHQ-9 overdue"),
    "no_checkin": N_("No check-in"),
}
TREND_LABELS = {
    "relapse": N_("Relapse"),
    "remission": N_("Remission"),
    "response": N_("Response"),
    "partial response": N_("Partial response"),
    "no response": N_("No response yet"),
    "worse": N_("Worse"),
}
ENDED_LABELS = {
    "fell_back": N_("back to the pre-infusion level"),
    "next_infusion": N_("until the next infusion"),
    "ongoing": N_("still above (as of the last check-in)"),
    "not_enough_data": N_("fewer than 3 check-ins in the week before"),
}
BUCKET_LABELS = {
    "0": N_("Day 0"),
    "1": N_("Day 1"),
    "2": N_("Day 2"),
    "3+": N_("Day 3+"),
    "none": N_("Before"),
}
FAILURE_LABELS = {
    "gone": N_("the device was unsubscribed"),
    "retry": N_("the push service was busy or out of reach"),
    "timeout": N_("the push service did not answer in time"),
    "vapid_rejected": N_("the push service refused the clinic's credentials"),
    "rejected": N_("it was refused"),  # by the push service, or by us: not an allowed one
    "error": N_("it could not be sent"),
}


def _(message: str) -> str:
    """``message`` in the reader's language (the clinician's, for these pages)."""
    return gettext(current(), message)


def _note(said: Said | None) -> str:
    """A domain note (why there is no baseline, no verdict) in the reader's language."""
    return findings.in_words(said)


def _band(band: str | None) -> str:
    """A severity band's name in the reader's language (the instruments' own wording)."""
    instruments = (in_language(PHQ9, current()), in_language(GAD7, current()))
    return {b.id: b.label for i in instruments for b in i.bands}.get(band or "", "")


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return _("never") if moment is None else dates.moment(moment, zone)


def _day(day: date | None) -> str:
    return "—" if day is None else dates.day(day)


_short_day = dates.short_day


def _pct(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:+.0f}%".replace("-", "−")


@get("/clinician", include_in_schema=False, guards=[clinicians_only])
async def patient_list(
    request: AnyRequest,
    pool: DbPool,
    user: CurrentUser,
    cursor: Annotated[str | None, Parameter(max_length=40)] = None,
) -> Template | Redirect:
    now = utc_now()
    try:
        page = await clinic.clinician_patients(pool, user, client_address(request), cursor=cursor)
    except AppError as error:
        if error.field != "cursor":
            raise
        # A link to a page that began with a patient who has left the list since: from the top.
        return Redirect("/clinician", status_code=HTTP_303_SEE_OTHER)
    patients = []
    for r in page.rows:
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
                "band": _band(o.phq9.latest_band),
                "phq9_day": _day(o.phq9.latest_day),
                "change": _pct(o.phq9.change_pct),
                "trend": _trend(o.trend, o.phq9),
                "flags": [
                    {
                        "label": _(FLAG_LABELS[f.kind]),
                        "day": _day(f.day),
                        "detail": findings.in_words(f.said, f.detail),
                    }
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
            "next": page.next,
            "previous": page.previous,
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
        "label": _(KIND_LABELS[alert.kind]),
        "day": _day(alert.day),
        "raised": _when(alert.raised_at, zone),
        "detail": findings.in_words(alert.finding, alert.detail),
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
        return _(TREND_LABELS[trend])
    return _("No verdict: %(why)s") % {"why": _note(phq9.verdict_said or Said(NO_BASELINE))}


def _verdict(value: bool | None, phq9: Phq9Part) -> str:
    """Yes or No on the latest PHQ-9, or why there is no verdict: never a "No" for want of a
    baseline."""
    if value is None:
        return f"— {_note(phq9.verdict_said or Said(NO_BASELINE))}"
    return _("Yes") if value else _("No")


def _response(phq9: Phq9Part) -> str:
    """The response verdict; a partial response (25–49% lower) named as on the list."""
    if phq9.partial_response:
        return _("Partial response (25–49% lower)")
    return _verdict(phq9.response, phq9)


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
        _("%(name)s %(total)s on %(day)s (retracted %(retracted)s)")
        % {
            "name": name,
            "total": p.total,
            "day": _short_day(p.day, summary.last.year),
            "retracted": _short_day(p.retracted_at.date(), summary.last.year),
        }
        for name, p in sorted(points, key=lambda pair: pair[1].taken_at)
        if p.retracted_at is not None
    ]


def _since_infusion(days: int | None) -> str:
    if days is None:
        return _("before the first infusion")
    if days == 0:
        return _("infusion day")
    return ngettext(current(), "day %(num)s after infusion", "day %(num)s after infusion", days) % {
        "num": days
    }


def _notes(summary: Summary) -> list[dict[str, Any]]:
    """The patient's own words, newest first: the check-in's note and an "Other" side effect's."""
    shown = []
    for n in summary.notes[:NOTES_SHOWN]:
        words = " · ".join(
            part
            for part in (n.note, n.other and _("Other side effect: %(what)s") % {"what": n.other})
            if part
        )
        cut = len(words) > PRINTED_NOTE_CHARS
        shown.append(
            {
                "day": _short_day(n.day, summary.last.year),
                "since": _since_infusion(n.days_since_infusion),
                "mood": n.mood,
                "note": n.note,
                "other": n.other,
                "printed": words[:PRINTED_NOTE_CHARS].rstrip() + "…" if cut else None,
            }
        )
    return shown


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
        "next_infusion": (
            _("none planned")
            if page.next_infusion is None
            else _when(page.next_infusion.scheduled_at, page.patient.zone)
        ),
        "record_number": page.record_number,
        "own_share": page.own_share,
        "notes": _notes(summary),
        "more_notes": max(0, len(summary.notes) - NOTES_SHOWN),
        "notes_printed": NOTES_PRINTED,
        "effect_labels": SIDE_EFFECT_LABELS,
        "phq9": phq9,
        "phq9_band": _band(phq9.latest_band),
        "baseline_note": _note(phq9.baseline_said),
        "remission_12_months_note": _note(phq9.remission_12_months_said),
        "phq9_baseline_day": _day(phq9.baseline_day),
        "phq9_latest_day": _day(phq9.latest_day),
        "phq9_change": _pct(phq9.change_pct),
        "response": _response(phq9),
        "remission": _verdict(phq9.remission, phq9),
        "trend": _trend(summary.trend, phq9),
        "retracted": _retracted(summary),
        "gad7": gad7,
        "gad7_band": _band(gad7.latest_band),
        "gad7_latest_day": _day(gad7.latest_day),
        "adherence": summary.adherence,
        "adherence_pct": (
            None if summary.adherence.ratio is None else round(summary.adherence.ratio * 100)
        ),
        "last_checkin": _day(summary.last_checkin_day),
        "flags": [
            {
                "label": _(FLAG_LABELS[f.kind]),
                "kind": f.kind,
                "day": _short_day(f.day, summary.last.year),
                "detail": findings.in_words(f.said, f.detail),
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
        "printed_on": _day(local_day(now, viewer.zone)),
        "export_from": summary.first.isoformat(),
        "export_to": summary.last.isoformat(),
        "infusion_day": infusion_day_context(summary),
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
            context={
                "user": user,
                "page": "clinician-accept",
                "error": _(error.detail),
                "code": code,
            },
            status_code=error.status,
            headers=error.headers,
        )
    return Redirect(f"/clinician/patients/{share.patient_id}", status_code=HTTP_303_SEE_OTHER)


@_form_post("/clinician/patients/{patient_id:str}/record-number")
async def record_number_submit(
    request: AnyRequest,
    patient_id: FromPath[str],
    pool: DbPool,
    user: CurrentUser,
    data: Form,
) -> Redirect:
    """The clinic's record number for the patient, from the summary page; back to it."""
    await clinic.set_record_number(
        pool, user, patient_id, data.get("record_number", "")[:200], client_address(request)
    )
    preset = data.get("range", "")
    back = f"?range={preset}" if preset in dict(PRESETS) else ""
    return Redirect(f"/clinician/patients/{patient_id}{back}", status_code=HTTP_303_SEE_OTHER)


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
    record_number_submit,
    acknowledge_alert,
]
