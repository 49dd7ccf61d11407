"""The reads behind the summary, the clinician's patient list and the exports.

One query per table, each on an index that starts with patient_id, so the cost follows one
patient's rows and never the table's. ``patient_summary`` then hands the rows to the pure
``domain.summary``: the JSON API and the pages call it alike.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from server.access import Access
from server.db import Connection
from server.domain.accounts import User
from server.domain.records import Assessment, CheckIn, Infusion, SideEffect
from server.domain.summary import PatientOverview, Summary, overview, summarise
from server.problems import NotFound
from server.store import assessments as assessment_store
from server.store import checkins as checkin_store
from server.store import infusions as infusion_store
from server.store import push as push_store
from server.store.users import user_from_row
from server.timeutil import local_day

# The 7-day average and the pre-infusion level look this far back before the range.
LOOK_BACK = timedelta(days=7)
# Flags on the clinician's list are the ones raised in the last 28 days.
LIST_WINDOW = timedelta(days=28)
RECENT_FAILURES = timedelta(days=14)

# Mirrors domain.summary._is_given: an infusion counts once it is not cancelled and its time has
# come (a past "planned" one is taken as given).
_GIVEN = "NOT deleted AND status <> 'cancelled' AND scheduled_at <= $2"


async def patient_account(conn: Connection, access: Access) -> User:
    row = await conn.fetchrow(
        """SELECT id, email, role, display_name, timezone, clinic_phone, created_at
             FROM users WHERE id = $1 AND role = 'patient'""",
        access.patient_id,
    )
    if row is None:
        raise NotFound("No such patient.")
    return user_from_row(row)


async def checkins_in_range(
    conn: Connection, access: Access, first: date | None, last: date | None
) -> list[CheckIn]:
    """Live check-ins on local days first..last (either end open), oldest first."""
    rows = await conn.fetch(
        f"""SELECT {checkin_store.TABLE.reads} FROM checkins
             WHERE patient_id = $1 AND NOT deleted
               AND ($2::date IS NULL OR local_day >= $2) AND ($3::date IS NULL OR local_day <= $3)
             ORDER BY local_day, recorded_at, id""",
        access.patient_id,
        first,
        last,
    )
    return [checkin_store.checkin_from_row(r) for r in rows]


async def assessments_in_range(
    conn: Connection, access: Access, first: date | None, last: date | None
) -> list[Assessment]:
    """Live PHQ-9s and GAD-7s on local days first..last (either end open), oldest first."""
    rows = await conn.fetch(
        f"""SELECT {assessment_store.TABLE.reads} FROM assessments
             WHERE patient_id = $1 AND NOT deleted
               AND ($2::date IS NULL OR local_day >= $2) AND ($3::date IS NULL OR local_day <= $3)
             ORDER BY taken_at, id""",
        access.patient_id,
        first,
        last,
    )
    return [assessment_store.assessment_from_row(r) for r in rows]


async def infusions_in_range(
    conn: Connection, access: Access, first: date | None, last: date | None
) -> list[Infusion]:
    rows = await conn.fetch(
        f"""SELECT {infusion_store.TABLE.reads} FROM infusions
             WHERE patient_id = $1 AND NOT deleted
               AND ($2::date IS NULL OR local_day >= $2) AND ($3::date IS NULL OR local_day <= $3)
             ORDER BY scheduled_at, id""",
        access.patient_id,
        first,
        last,
    )
    return [infusion_store.infusion_from_row(r) for r in rows]


async def patient_summary(
    conn: Connection,
    access: Access,
    patient: User,
    *,
    first: date,
    last: date,
    now: datetime,
    started: date | None = None,
) -> Summary:
    """The summary of ``first``..``last``. Assessments and infusions are read in full up to the
    range's end (the baseline and the previous PHQ-9 may be older; both are a few rows a week)."""
    checkins = await checkins_in_range(conn, access, first - LOOK_BACK, last)
    assessments = await assessments_in_range(conn, access, None, last)
    infusions = await infusions_in_range(conn, access, None, last)
    return summarise(
        checkins=checkins,
        assessments=assessments,
        infusions=infusions,
        first=first,
        last=last,
        today=local_day(now, patient.zone),
        as_of=now,
        started=started or await started_day(conn, access, patient),
    )


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
    last_failure_status: int | None
    daily_reminder: bool | None  # None: the patient never set reminder preferences


async def reminder_reach(conn: Connection, access: Access, now: datetime) -> ReminderReach:
    devices = await push_store.device_status(conn, access.patient_id)
    row: Any = await conn.fetchrow(
        """SELECT
             (SELECT max(attempted_at) FROM push_attempts
               WHERE user_id = $1 AND outcome = 'delivered') AS delivered,
             (SELECT count(*) FROM push_attempts
               WHERE user_id = $1 AND outcome <> 'delivered' AND attempted_at > $2) AS failures,
             (SELECT row(attempted_at, status_code) FROM push_attempts
               WHERE user_id = $1 AND outcome <> 'delivered'
               ORDER BY attempted_at DESC LIMIT 1) AS last_failure,
             (SELECT daily_checkin_time IS NOT NULL FROM reminder_prefs
               WHERE patient_id = $1) AS daily""",
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
        last_failure_status=None if failure is None else failure[1],
        daily_reminder=row["daily"],
    )


# --- the clinician's patient list ---------------------------------------------------------------


class _DayEffects(msgspec.Struct, frozen=True):
    day: date
    effects: list[SideEffect]


class PatientRow(msgspec.Struct, frozen=True, kw_only=True):
    patient_id: UUID
    display_name: str
    shared_since: datetime
    overview: PatientOverview


async def clinician_overview(conn: Connection, clinician: User, now: datetime) -> list[PatientRow]:
    """Every patient who shares with ``clinician``: three queries in all, whatever their number
    (patients with their last check-in and first infusion; PHQ-9s; recent check-ins)."""
    patients = await conn.fetch(
        f"""SELECT u.id, u.display_name, u.timezone, u.created_at, s.accepted_at,
                   lc.local_day AS last_checkin_day, fc.local_day AS first_checkin_day,
                   fi.id AS fi_id, fi.scheduled_at AS fi_at, fi.local_day AS fi_day,
                   fi.duration_minutes AS fi_minutes, fi.status AS fi_status,
                   fi.client_updated_at AS fi_updated
              FROM shares s
              JOIN users u ON u.id = s.patient_id
              LEFT JOIN LATERAL (
                   SELECT local_day FROM checkins
                    WHERE patient_id = u.id AND NOT deleted AND local_day IS NOT NULL
                    ORDER BY local_day DESC LIMIT 1) lc ON true
              LEFT JOIN LATERAL (
                   SELECT local_day FROM checkins
                    WHERE patient_id = u.id AND NOT deleted AND local_day IS NOT NULL
                    ORDER BY local_day LIMIT 1) fc ON true
              LEFT JOIN LATERAL (
                   SELECT id, scheduled_at, local_day, duration_minutes, status, client_updated_at
                     FROM infusions
                    WHERE patient_id = u.id AND {_GIVEN}
                    ORDER BY scheduled_at LIMIT 1) fi ON true
             WHERE s.clinician_id = $1 AND s.revoked_at IS NULL""",
        clinician.id,
        now,
    )
    if not patients:
        return []
    ids = [p["id"] for p in patients]
    # The window starts a day early: each patient's local "28 days ago" is found in the domain.
    since_day = local_day(now, clinician.zone) - LIST_WINDOW - timedelta(days=1)
    since = datetime.combine(since_day, datetime.min.time(), now.tzinfo)
    phq9_rows = await conn.fetch(
        f"""SELECT a.* FROM unnest($1::uuid[], $2::timestamptz[]) AS p (patient_id, first_at)
             CROSS JOIN LATERAL (
                 (SELECT {assessment_store.TABLE.reads} FROM assessments
                   WHERE patient_id = p.patient_id AND instrument = 'phq9' AND NOT deleted
                     AND taken_at < p.first_at
                   ORDER BY taken_at DESC LIMIT 1)
                 UNION ALL
                 (SELECT {assessment_store.TABLE.reads} FROM assessments
                   WHERE patient_id = p.patient_id AND instrument = 'phq9' AND NOT deleted
                     AND taken_at < $3
                   ORDER BY taken_at DESC LIMIT 1)
                 UNION ALL
                 (SELECT {assessment_store.TABLE.reads} FROM assessments
                   WHERE patient_id = p.patient_id AND instrument = 'phq9' AND NOT deleted
                     AND taken_at >= $3)
             ) a""",
        ids,
        [p["fi_at"] for p in patients],
        since,
    )
    # Per patient: the days logged, and only the check-ins that carry a severe side effect
    # (the rest cannot raise a flag), so 500 patients cost 500 short rows.
    checkin_rows = await conn.fetch(
        """SELECT patient_id, array_agg(local_day) AS days,
                  jsonb_agg(jsonb_build_object('day', local_day, 'effects', side_effects))
                      FILTER (WHERE side_effects @> '[{"severity": 3}]') AS severe
             FROM checkins
            WHERE patient_id = ANY($1::uuid[]) AND NOT deleted AND local_day >= $2
            GROUP BY patient_id""",
        ids,
        since_day,
    )
    phq9s: dict[UUID, dict[UUID, Assessment]] = {i: {} for i in ids}
    for r in phq9_rows:  # the baseline may also be the last before the window: once each
        phq9s[r["patient_id"]][r["id"]] = assessment_store.assessment_from_row(r)
    logged: dict[UUID, set[date]] = {}
    severe: dict[UUID, list[_DayEffects]] = {}
    for r in checkin_rows:
        logged[r["patient_id"]] = set(r["days"])
        severe[r["patient_id"]] = msgspec.convert(r["severe"] or [], list[_DayEffects])
    result = []
    for p in patients:
        zone = ZoneInfo(p["timezone"])
        first_infusion = None
        if p["fi_id"] is not None:
            first_infusion = Infusion(
                id=p["fi_id"],
                patient_id=p["id"],
                scheduled_at=p["fi_at"],
                local_day=p["fi_day"],
                duration_minutes=p["fi_minutes"],
                status=p["fi_status"],
                updated_at=p["fi_updated"],
            )
        today = local_day(now, zone)
        result.append(
            PatientRow(
                patient_id=p["id"],
                display_name=p["display_name"],
                shared_since=p["accepted_at"],
                overview=overview(
                    logged=logged.get(p["id"], set()),
                    side_effects=[(e.day, e.effects) for e in severe.get(p["id"], [])],
                    phq9s=sorted(phq9s[p["id"]].values(), key=lambda a: a.taken_at),
                    first_infusion=first_infusion,
                    first=today - LIST_WINDOW + timedelta(days=1),
                    today=today,
                    started=min(
                        local_day(p["created_at"], zone), p["first_checkin_day"] or date.max
                    ),
                    last_checkin_day=p["last_checkin_day"],
                ),
            )
        )
    return result
