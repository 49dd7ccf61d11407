"""Treatment plans: courses of sessions, the sessions a course plans, and each course's verdicts.

A prescriber plans a course at the consultation: its kind, the drug, how many sessions and how
far apart. Its sessions are ordinary infusions (rows of ``infusions`` with the course's id), so
sync, reminders and the schedule treat them like any other; the patient or the clinic may then
move or cancel one, and it stays in its course.

Rules, each decided here once:
- Kinds: ``induction`` (e.g. 6 sessions over 2–3 weeks: every 2–3 days), ``maintenance`` (one
  session every ``every_days`` days, 7–90), ``reinduction`` (an induction after a relapse or a
  break).
- Sessions keep the first session's wall-clock time in the patient's zone (a 10:00 session stays
  at 10:00 across a daylight-saving change). With ``weekdays_only`` a session that would fall on
  a Saturday or Sunday moves to the Monday; the spacing then counts on from the Monday.
- Baseline of a course: the last PHQ-9 within 30 days before the course's first given session
  (the design's rule, ``monitoring.baseline_phq9``), so a re-induction is judged against where
  the patient stood when it began, not against the first induction.
- Response, remission, partial response and relapse of a course: as in ``scores.phq9_part``,
  with the course's own baseline and its PHQ-9s up to the day before the next course's first
  session (or up to today for the current course).
- Progress the patient sees: "session 3 of 6" counts the course's sessions that are not
  cancelled, in time order; the next session is the first planned one still ahead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, Final, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from server.domain.checkins import AwareDateTime
from server.domain.records import Assessment, Infusion
from server.domain.scores import Phq9Part, phq9_part
from server.errors import InvalidField
from server.i18n import N_

CourseKind = Literal["induction", "maintenance", "reinduction"]
Drug = Literal["iv_ketamine", "intranasal_esketamine", "im_ketamine"]
Route = Literal["intravenous", "intramuscular", "intranasal"]


class DrugInfo(msgspec.Struct, frozen=True, kw_only=True):
    label: str  # as a clinician reads it
    route: Route
    per_kg: bool  # dosed by body weight (mg/kg), or in fixed doses (mg)
    # RxNorm ingredient, only where verified (ketamine: 6130); otherwise the drug is text.
    rxnorm: str | None
    rxnorm_display: str | None = None


DRUGS: Final[dict[Drug, DrugInfo]] = {
    "iv_ketamine": DrugInfo(
        label=N_("Ketamine (racemic), intravenous"),
        route="intravenous",
        per_kg=True,
        rxnorm="6130",
        rxnorm_display="ketamine",
    ),
    "im_ketamine": DrugInfo(
        label=N_("Ketamine (racemic), intramuscular"),
        route="intramuscular",
        per_kg=True,
        rxnorm="6130",
        rxnorm_display="ketamine",
    ),
    "intranasal_esketamine": DrugInfo(
        label=N_("Esketamine, intranasal"), route="intranasal", per_kg=False, rxnorm=None
    ),
}
KIND_LABELS: Final[dict[CourseKind, str]] = {
    "induction": N_("Induction"),
    "maintenance": N_("Maintenance"),
    "reinduction": N_("Re-induction"),
}
# (fewest, most) sessions and (least, most) days between two of them, per kind.
SESSIONS: Final[dict[CourseKind, tuple[int, int]]] = {
    "induction": (1, 12),
    "maintenance": (1, 26),
    "reinduction": (1, 12),
}
SPACING: Final[dict[CourseKind, tuple[int, int]]] = {
    "induction": (1, 7),
    "maintenance": (7, 90),
    "reinduction": (1, 7),
}
PLAN_AHEAD = timedelta(days=2 * 366)  # as for any infusion (server/domain/infusions.py)
PLAN_BEHIND = timedelta(days=31)  # a plan entered a little after its first session


class CoursePlan(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a prescriber sends to plan a course."""

    kind: CourseKind
    drug: Drug
    sessions: int
    every_days: int
    first_at: AwareDateTime
    duration_minutes: Annotated[int, msgspec.Meta(ge=10, le=240)] = 60
    weekdays_only: bool = True


class Course(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    patient_id: UUID
    kind: CourseKind
    drug: Drug
    sessions: int
    every_days: int
    first_at: datetime
    duration_minutes: int
    planned_by: UUID | None
    created_at: datetime


def check_plan(plan: CoursePlan, now: datetime) -> CoursePlan:
    """A plan within the kind's limits, starting no more than a month ago or two years ahead."""
    fewest, most = SESSIONS[plan.kind]
    if not fewest <= plan.sessions <= most:
        raise InvalidField("sessions", f"A {plan.kind} course has {fewest} to {most} sessions.")
    least, widest = SPACING[plan.kind]
    if not least <= plan.every_days <= widest:
        raise InvalidField(
            "every_days", f"Sessions of a {plan.kind} course are {least} to {widest} days apart."
        )
    if plan.first_at > now + PLAN_AHEAD:
        raise InvalidField("first_at", "Plan at most two years ahead.")
    if plan.first_at < now - PLAN_BEHIND:
        raise InvalidField("first_at", "A course's first session is at most a month ago.")
    return plan


def _on_weekday(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7) if day.weekday() >= 5 else day


def _at(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """``wall`` on ``day`` in ``zone``; a time in a spring-forward gap moves on by the gap."""
    local = datetime.combine(day, wall, zone)
    there_and_back = local.astimezone(ZoneInfo("UTC")).astimezone(zone)
    return there_and_back if there_and_back.time() != wall else local


def session_times(plan: CoursePlan, zone: ZoneInfo) -> list[datetime]:
    """When each session of the plan falls (see the module's rules), first to last."""
    start = plan.first_at.astimezone(zone)
    wall = start.time().replace(tzinfo=None)
    day = start.date()
    days: list[date] = []
    for _ in range(plan.sessions):
        if plan.weekdays_only:
            day = _on_weekday(day)
        days.append(day)
        day = day + timedelta(days=plan.every_days)
    if days[0] == start.date():  # the first session is exactly as planned
        return [plan.first_at, *(_at(d, wall, zone) for d in days[1:])]
    return [_at(d, wall, zone) for d in days]


# --- where a course stands ---------------------------------------------------------------------


def _live(sessions: Sequence[Infusion]) -> list[Infusion]:
    return sorted((s for s in sessions if s.status != "cancelled"), key=lambda s: s.scheduled_at)


def _given(session: Infusion, as_of: datetime) -> bool:
    # As everywhere: a past "planned" session is taken as given (server/domain/summary.py).
    return session.status != "cancelled" and session.scheduled_at <= as_of


class CourseProgress(msgspec.Struct, frozen=True, kw_only=True):
    """Where the patient is in a course: what the app shows as "session 3 of 6"."""

    course_id: UUID
    kind: CourseKind
    kind_label: str
    drug_label: str
    total: int  # sessions not cancelled
    given: int
    next_number: int | None  # "session 3 of 6": the next session's place in the course
    next_at: datetime | None
    next_id: UUID | None


def progress(course: Course, sessions: Sequence[Infusion], as_of: datetime) -> CourseProgress:
    """``sessions``: the course's own infusions (any status)."""
    live = _live(sessions)
    ahead = [
        (n, s)
        for n, s in enumerate(live, start=1)
        if s.status == "planned" and s.scheduled_at > as_of
    ]
    number, following = ahead[0] if ahead else (None, None)
    return CourseProgress(
        course_id=course.id,
        kind=course.kind,
        kind_label=KIND_LABELS[course.kind],
        drug_label=DRUGS[course.drug].label,
        total=len(live),
        given=sum(1 for s in live if _given(s, as_of)),
        next_number=number,
        next_at=None if following is None else following.scheduled_at,
        next_id=None if following is None else following.id,
    )


class CourseOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """A course on the summary: its progress and the PHQ-9 verdicts against its own baseline."""

    course: Course
    progress: CourseProgress
    first_day: date | None  # of its first session not cancelled
    last_day: date | None  # of its last session not cancelled
    current: bool
    phq9: Phq9Part


def current_course(courses: Sequence[Course]) -> Course | None:
    """The course planned last: a new plan (a maintenance after an induction, a re-induction)
    is what the patient is in now, or about to be."""
    return max(courses, key=lambda c: (c.first_at, c.created_at)) if courses else None


def outcomes(
    courses: Sequence[Course],
    infusions: Sequence[Infusion],
    phq9s: Sequence[Assessment],
    *,
    as_of: datetime,
    today: date,
) -> list[CourseOutcome]:
    """Every course, newest first, each judged on its own (``phq9s`` in time order, retracted
    ones included as for the summary; ``infusions`` any, with their course ids)."""
    ordered = sorted(courses, key=lambda c: (c.first_at, c.created_at))
    current = current_course(ordered)
    found: list[CourseOutcome] = []
    for index, course in enumerate(ordered):
        own = [i for i in infusions if i.course_id == course.id]
        live = _live(own)
        given = [s for s in live if _given(s, as_of)]
        later = ordered[index + 1] if index + 1 < len(ordered) else None
        end = today
        if later is not None:
            later_live = _live([i for i in infusions if i.course_id == later.id])
            later_start = later_live[0].scheduled_at if later_live else later.first_at
            later_day = later_live[0].local_day if later_live else later.first_at.date()
            end = min(today, later_day - timedelta(days=1))
            phq9s_in = [a for a in phq9s if a.taken_at < later_start]
        else:
            phq9s_in = list(phq9s)
        first_day = live[0].local_day if live else None
        part = phq9_part(phq9s_in, given, first_day or end, max(end, first_day or end))
        found.append(
            CourseOutcome(
                course=course,
                progress=progress(course, own, as_of),
                first_day=first_day,
                last_day=live[-1].local_day if live else None,
                current=course is current,
                phq9=part,
            )
        )
    return found[::-1]
