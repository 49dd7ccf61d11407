"""The reads behind the summary, the clinician's patient list and the exports.

One query per table, each on an index that starts with patient_id, so the cost follows one
patient's rows and never the table's. ``patient_summary`` then hands the rows to the pure
``domain.summary`` (server/services/clinic.py).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from server.db import Connection
from server.domain.accounts import Access, User
from server.domain.devices import DeviceStatus, Outcome
from server.domain.flags import MOOD_LOOK_BACK
from server.domain.logbook import ASSESSMENTS, INFUSIONS
from server.domain.monitoring import Progress, daily_mean_moods
from server.domain.records import Assessment, Infusion, SideEffect
from server.domain.summary import PatientOverview, overview
from server.errors import NotFound
from server.timeutil import local_day

# Flags on the clinician's list are the ones raised in the last 28 days.
LIST_WINDOW = timedelta(days=28)
RECENT_FAILURES = timedelta(days=14)

# Mirrors domain.summary._is_given: an infusion counts once it is not cancelled and its time has
# come (a past "planned" one is taken as given).
_GIVEN = "NOT deleted AND status <> 'cancelled' AND scheduled_at <= $2"


async def patient_account(conn: Connection, access: Access) -> User:
    row = await conn.fetchrow(
        """SELECT id, email, role, display_name, timezone, clinic_phone, created_at, language
             FROM users WHERE id = $1 AND role = 'patient'""",
        access.patient_id,
    )
    if row is None:
        raise NotFound("No such patient.")
    return msgspec.convert(dict(row), User)


async def started_day(conn: Connection, access: Access, patient: User) -> date:
    """The day the patient started logging: the account's first day, or an earlier check-in's
    (entries typed in for the days before signing up). Adherence and gaps count from here."""
    first_checkin: date | None = await conn.fetchval(
        "SELECT min(local_day) FROM checkins WHERE patient_id = $1 AND NOT deleted",
        access.patient_id,
    )
    created = local_day(patient.created_at, patient.zone)
    return created if first_checkin is None else min(created, first_checkin)


async def last_given_infusion_day(conn: Connection, access: Access, now: datetime) -> date | None:
    found: date | None = await conn.fetchval(
        f"""SELECT local_day FROM infusions WHERE patient_id = $1 AND {_GIVEN}
             ORDER BY scheduled_at DESC LIMIT 1""",
        access.patient_id,
        now,
    )
    return found


# --- whether reminders reach the patient ------------------------------------------------------


class ReminderReach(msgspec.Struct, frozen=True, kw_only=True):
    devices: int
    working_devices: int  # subscribed, and the last attempt to reach it did not fail
    last_delivery_at: datetime | None
    recent_failures: int  # failed attempts in the last 14 days
    last_failure_at: datetime | None
    # What became of it, as a word: a push service's status code is for the operator's log.
    last_failure_outcome: Outcome | None
    daily_reminder: bool | None  # None: the patient never set reminder preferences
    # The last 14 days' reminders, as the devices reported them (migrations/0022): delivered,
    # shown (only devices whose service worker reports it; Safari's declarative pushes do not),
    # opened; and devices delivered to for 7 days since they last reported one shown.
    delivered_reminders: int = 0
    shown_reminders: int = 0
    opened_reminders: int = 0
    unseen_devices: int = 0


async def reminder_reach(
    conn: Connection, access: Access, devices: list[DeviceStatus], now: datetime
) -> ReminderReach:
    """From the patient's devices (store/push.device_status) and their recent attempts."""
    row: Any = await conn.fetchrow(
        """SELECT
             (SELECT max(attempted_at) FROM push_attempts
               WHERE user_id = $1 AND outcome = 'delivered') AS delivered,
             (SELECT count(*) FROM push_attempts
               WHERE user_id = $1 AND outcome <> 'delivered' AND attempted_at > $2) AS failures,
             (SELECT row(attempted_at, outcome) FROM push_attempts
               WHERE user_id = $1 AND outcome <> 'delivered'
               ORDER BY attempted_at DESC LIMIT 1) AS last_failure,
             (SELECT daily_checkin_time IS NOT NULL FROM reminder_prefs
               WHERE patient_id = $1) AS daily,
             (SELECT count(DISTINCT o.reminder_id) FROM push_attempts a
                JOIN push_outbox o ON o.id = a.outbox_id
               WHERE a.user_id = $1 AND a.outcome = 'delivered' AND a.attempted_at > $2
                 AND o.reminder_id IS NOT NULL) AS delivered_reminders,
             (SELECT count(DISTINCT r.reminder_id) FROM reminder_receipts r
               WHERE r.user_id = $1 AND r.event = 'shown' AND r.happened_at > $2)
                 AS shown_reminders,
             (SELECT count(DISTINCT r.reminder_id) FROM reminder_receipts r
               WHERE r.user_id = $1 AND r.event = 'opened' AND r.happened_at > $2)
                 AS opened_reminders,
             (SELECT count(*) FROM push_subscriptions s
               WHERE s.user_id = $1 AND s.last_success_at >= (
                   SELECT max(r.happened_at) + interval '7 days' FROM reminder_receipts r
                    WHERE r.user_id = $1 AND r.subscription_id = s.id AND r.event = 'shown'))
                 AS unseen_devices""",
        access.patient_id,
        now - RECENT_FAILURES,
    )
    successes = [d.last_success_at for d in devices if d.last_success_at is not None]
    if row["delivered"] is not None:
        successes.append(row["delivered"])
    failure = row["last_failure"]
    return ReminderReach(
        devices=len(devices),
        working_devices=sum(1 for d in devices if d.failures_in_row == 0),
        last_delivery_at=max(successes) if successes else None,
        recent_failures=row["failures"],
        last_failure_at=None if failure is None else failure[0],
        last_failure_outcome=None if failure is None else failure[1],
        daily_reminder=row["daily"],
        delivered_reminders=row["delivered_reminders"],
        shown_reminders=row["shown_reminders"],
        opened_reminders=row["opened_reminders"],
        unseen_devices=row["unseen_devices"],
    )


# --- the clinician's patient list ---------------------------------------------------------------


class _DayEffects(msgspec.Struct, frozen=True):
    day: date
    effects: list[SideEffect]


_SEVERE = list[_DayEffects]  # built once: msgspec inspects a fresh ``list[...]`` on every call


class PatientRow(msgspec.Struct, frozen=True, kw_only=True):
    patient_id: UUID
    display_name: str
    shared_since: datetime
    overview: PatientOverview


class ListCursor(msgspec.Struct, frozen=True):
    """Where a page of the clinician's list starts: just after this patient in name order, or
    (``backward``) just before them."""

    patient_id: UUID
    backward: bool = False


# The patients a clinician may read the clinical data of, once each, with the list's sort key (by
# name, then by id: names repeat): those who share with them, and those who share with a care
# team of theirs in which their roles grant clinical reading (prescriber, nurse: RIGHTS in
# server/domain/clinic.py; the database's "clinical" right, migrations/0023). A patient shared
# both ways is one row, since the earlier share. Row-level security lets the clinician's request
# read these users rows and these shares, and no others.
_SHARED = """WITH shared AS (
                  SELECT patient_id, min(since) AS since
                    FROM (SELECT s.patient_id, s.accepted_at AS since FROM shares s
                           WHERE s.clinician_id = $1 AND s.revoked_at IS NULL
                          UNION ALL
                          SELECT cs.patient_id, cs.created_at FROM clinic_shares cs
                           WHERE cs.revoked_at IS NULL
                             AND cs.clinic_id = ANY (
                                 (SELECT afterglow_my_clinics('clinical'))::uuid[])) k
                   GROUP BY patient_id)
             SELECT u.id, u.display_name, u.timezone, u.created_at, sh.since AS accepted_at,
                    lower(u.display_name) AS sort_name
               FROM shared sh JOIN users u ON u.id = sh.patient_id
              WHERE true"""


async def shared_patients(
    conn: Connection, clinician: User, *, limit: int, cursor: ListCursor | None = None
) -> tuple[list[Any], bool] | None:
    """A page of the patients ``clinician`` may read (a share of their own, or a care team's
    share where their roles allow): up to ``limit`` in name order from the cursor on (keyset:
    the page is found by its first patient's name, not by counting rows, so the pages neither
    repeat nor skip anyone while the list stays as it is), and whether more follow in the
    direction of travel. None when the cursor's patient is no longer on the list (their share
    was withdrawn): their name, the page's place, is gone with them."""
    if cursor is None:
        rows = await conn.fetch(
            f"{_SHARED} ORDER BY sort_name, u.id LIMIT $2", clinician.id, limit + 1
        )
    else:
        way, order = ("<", "DESC") if cursor.backward else (">", "ASC")
        # The cursor's patient is looked up on the list itself (a join, not a users row alone):
        # a patient the clinician no longer reads is no place in it.
        rows = await conn.fetch(
            f"""{_SHARED}
                  AND (lower(u.display_name), u.id) {way} (
                      SELECT lower(b.display_name), b.id
                        FROM shared bs JOIN users b ON b.id = bs.patient_id
                       WHERE b.id = $2)
                ORDER BY sort_name {order}, u.id {order} LIMIT $3""",
            clinician.id,
            cursor.patient_id,
            limit + 1,
        )
        if not rows and not await conn.fetchval(
            f"SELECT EXISTS ({_SHARED} AND u.id = $2)", clinician.id, cursor.patient_id
        ):
            return None
    more = len(rows) > limit
    rows = rows[:limit]
    if cursor is not None and cursor.backward:
        rows.reverse()
    return rows, more


async def clinician_overview(
    conn: Connection, clinician: User, patients: list[Any], now: datetime
) -> list[PatientRow]:
    """The list's line for each of ``patients`` (a page from ``shared_patients``): their data,
    only theirs, in four queries whatever their number (daily check-ins of the window and
    the 5 weeks before it, given infusions, PHQ-9s, and the lowest PHQ-9 before the window),
    each an index probe or a short index range per patient. What it costs beyond the window is
    bounded: 35 daily means more a patient (mood drops), the few infusions before it, and one
    aggregate over their PHQ-9s since the first infusion (relapse), read in the database."""
    if not patients:
        return []
    ids = [p["id"] for p in patients]
    # Row-level security lets this clinician's request read them (their active shares).
    # From here on, only these patients' rows are read.
    # The window starts a day early: each patient's local "28 days ago" is found in the domain.
    since_day = local_day(now, clinician.zone) - LIST_WINDOW - timedelta(days=1)
    since = datetime.combine(since_day, datetime.min.time(), now.tzinfo)
    # Each query below is a short index range per patient, but for hundreds of patients the
    # planner's estimate crosses jit_above_cost, and compiling them would cost more (~25 ms at
    # 500 patients) than running them.
    await conn.execute("SET LOCAL jit = off")
    recent = {
        r["patient_id"]: r
        for r in await _recent_checkins(conn, ids, since_day, since_day - MOOD_LOOK_BACK)
    }
    given = await _given_infusions(conn, ids, now, since)
    first_at = {p: g[0].scheduled_at for p, g in given.items() if g}
    phq9s: dict[UUID, dict[UUID, Assessment]] = {i: {} for i in ids}
    for r in await _list_phq9s(conn, ids, first_at, since):
        # The baseline may also be the last before the window, or in it: once each.
        phq9s[r["patient_id"]][r["id"]] = ASSESSMENTS.from_row(r)
    progress = await _relapse_progress(conn, ids, first_at, since)
    result = []
    for p in patients:
        patient_id = p["id"]
        zone = ZoneInfo(p["timezone"])
        today = local_day(now, zone)
        checkins = recent[patient_id]
        severe = msgspec.convert(checkins["severe"], _SEVERE) if checkins["severe"] else []
        moods = daily_mean_moods(
            zip(checkins["mood_days"] or (), checkins["moods"] or (), strict=True)
        )
        result.append(
            PatientRow(
                patient_id=patient_id,
                display_name=p["display_name"],
                shared_since=p["accepted_at"],
                overview=overview(
                    logged=set(checkins["days"] or ()),
                    side_effects=[(e.day, e.effects) for e in severe],
                    moods=moods,
                    phq9s=sorted(phq9s[patient_id].values(), key=_taken_at),
                    given=given.get(patient_id, []),
                    progress=progress.get(patient_id),
                    first=today - LIST_WINDOW + timedelta(days=1),
                    today=today,
                    started=min(
                        local_day(p["created_at"], zone), checkins["first_day"] or date.max
                    ),
                    last_checkin_day=checkins["last_day"],
                ),
            )
        )
    return result


def _taken_at(a: Assessment) -> datetime:
    return a.taken_at


async def _recent_checkins(
    conn: Connection, ids: list[UUID], since_day: date, moods_from: date
) -> list[Any]:
    """Per patient, from the check-ins since ``moods_from``: the days logged since ``since_day``,
    each check-in's day and mood (mood drops look 5 weeks back), the side effects of the
    check-ins since ``since_day`` that carry a severe one (the rest cannot raise a flag), and the
    first and last day ever logged (the last is in the range for anyone logging lately: looked
    up only for the others)."""
    rows: list[Any] = await conn.fetch(
        """SELECT p.id AS patient_id, w.days, w.mood_days, w.moods, w.severe,
                  (SELECT min(local_day) FROM checkins
                    WHERE patient_id = p.id AND NOT deleted) AS first_day,
                  coalesce(w.last_day, (SELECT max(local_day) FROM checkins
                                          WHERE patient_id = p.id AND NOT deleted)) AS last_day
             FROM unnest($1::uuid[]) AS p (id)
            CROSS JOIN LATERAL (
                 SELECT array_agg(local_day) FILTER (WHERE local_day >= $2) AS days,
                        max(local_day) AS last_day,
                        array_agg(local_day) AS mood_days, array_agg(mood) AS moods,
                        jsonb_agg(jsonb_build_object('day', local_day, 'effects', side_effects))
                            FILTER (WHERE local_day >= $2
                                      AND side_effects @> '[{"severity": 3}]') AS severe
                   FROM checkins
                  WHERE patient_id = p.id AND NOT deleted AND local_day >= $3) w""",
        ids,
        since_day,
        moods_from,
    )
    return rows


async def _given_infusions(
    conn: Connection, ids: list[UUID], now: datetime, since: datetime
) -> dict[UUID, list[Infusion]]:
    """Per patient, in time order, the given infusions the list's rules need: the first (the
    baseline is before it), the last before ``since``, and every one since (a course's end, and
    the last infusion before each day of the window)."""
    rows = await conn.fetch(
        f"""SELECT i.* FROM unnest($1::uuid[]) AS p (id)
             CROSS JOIN LATERAL (
                 (SELECT {INFUSIONS.select_list} FROM infusions
                   WHERE patient_id = p.id AND {_GIVEN}
                   ORDER BY scheduled_at LIMIT 1)
                 UNION ALL
                 (SELECT {INFUSIONS.select_list} FROM infusions
                   WHERE patient_id = p.id AND {_GIVEN} AND scheduled_at < $3
                   ORDER BY scheduled_at DESC LIMIT 1)
                 UNION ALL
                 (SELECT {INFUSIONS.select_list} FROM infusions
                   WHERE patient_id = p.id AND {_GIVEN} AND scheduled_at >= $3)
             ) i""",
        ids,
        now,
        since,
    )
    found: dict[UUID, dict[UUID, Infusion]] = {}
    for r in rows:
        found.setdefault(r["patient_id"], {})[r["id"]] = INFUSIONS.from_row(r)
    return {
        patient: sorted(infusions.values(), key=lambda i: i.scheduled_at)
        for patient, infusions in found.items()
    }


async def _list_phq9s(
    conn: Connection, ids: list[UUID], first_at: dict[UUID, datetime], since: datetime
) -> list[Any]:
    """Per patient: the baseline, the last PHQ-9 before ``since``, and every one since, retracted
    ones too (their flags stay; the domain counts them for nothing else)."""
    rows: list[Any] = await conn.fetch(
        f"""SELECT a.* FROM unnest($1::uuid[], $2::timestamptz[]) AS p (patient_id, first_at)
             CROSS JOIN LATERAL (
                 (SELECT {ASSESSMENTS.select_list} FROM assessments
                   WHERE patient_id = p.patient_id AND instrument = 'phq9' AND NOT deleted
                     AND taken_at < p.first_at
                   ORDER BY taken_at DESC LIMIT 1)
                 UNION ALL
                 (SELECT {ASSESSMENTS.select_list} FROM assessments
                   WHERE patient_id = p.patient_id AND instrument = 'phq9' AND NOT deleted
                     AND taken_at < $3
                   ORDER BY taken_at DESC LIMIT 1)
                 UNION ALL
                 (SELECT {ASSESSMENTS.select_list} FROM assessments
                   WHERE patient_id = p.patient_id AND instrument = 'phq9'
                     AND {ASSESSMENTS.shown(retracted=True)} AND taken_at >= $3)
             ) a""",
        ids,
        [first_at.get(p) for p in ids],
        since,
    )
    return rows


async def _relapse_progress(
    conn: Connection, ids: list[UUID], first_at: dict[UUID, datetime], since: datetime
) -> dict[UUID, Progress]:
    """Per patient with a PHQ-9 between the first infusion and ``since``: the last of them (it is
    among the list's PHQ-9s) and the lowest total before it, counted in the database, so the
    relapse rule need not read every PHQ-9 since the first infusion (domain.monitoring)."""
    treated = [p for p in ids if p in first_at]
    # One pass over the index that carries the totals (migrations/0021): an index-only scan.
    # Not a scalar subquery per patient: planned on its own, that one checks row-level
    # security with an index probe of shares per questionnaire read (~45 a patient), where a
    # join checks it against one hashed read of this clinician's shares (74,198 buffers → 1,684
    # at 500 patients).
    rows = await conn.fetch(
        """SELECT patient_id, until, min(total) FILTER (WHERE taken_at < until) AS lowest
             FROM (SELECT a.patient_id, a.taken_at, a.total,
                          max(a.taken_at) OVER (PARTITION BY a.patient_id) AS until
                     FROM unnest($1::uuid[], $2::timestamptz[]) AS p (patient_id, first_at)
                     JOIN assessments a
                       ON a.patient_id = p.patient_id AND a.instrument = 'phq9'
                      AND NOT a.deleted AND a.taken_at >= p.first_at AND a.taken_at < $3) s
            GROUP BY patient_id, until""",
        treated,
        [first_at[p] for p in treated],
        since,
    )
    return {r["patient_id"]: Progress(until=r["until"], lowest=r["lowest"]) for r in rows}
