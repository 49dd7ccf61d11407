"""Scale: what a clinic network reaches, with the data made in the run by ``generate_series``.

Care team list: a nurse of a clinic with 5,000 patients sharing with the clinic (a team share,
issue 15; each with 90 days of daily check-ins, weekly PHQ-9s since six months, and a course of
infusions), the nurse's list read a page at a time
(``GET /api/v1/clinician/patients``, 100 patients a page): the first page, and a page 2,500
patients in (its cursor from walking there). Target: the first page < 100 ms; a ratio near 1
between the two shows a page costs the same wherever it is in the list.

Ten years: ``GET /api/v1/patients/{id}/summary`` over 3,650 days of one patient's daily
check-ins, weekly PHQ-9s, GAD-7s every other week and a booster every four weeks. Target < 50 ms;
the 1-year summary of the same patient is in the note.

The HTTP figures are the median of sequential requests over one keep-alive connection, beside
``GET /api/v1/me`` (signed in, no patient data) in the same run.

Planner: 10,000, then 1,000,000 patients with reminder preferences in the steady state a rolling
planner leaves (two in three with a device, planned up to some time 24-48 h ahead, a pending
reminder and an infusion each; the rest parked), and the same 50 falling due. One ``plan_pass``
is timed (median of a few; bench/push_dispatch.py resets the 50 before each). Target < 100 ms at
1,000,000, and a ratio near 1 against the 10,000 baseline: the pass touches only the due rows.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from bench import harness, report, synthetic
from bench.harness import Options
from bench.report import Figure

NAME = "scale"
LIST = "/api/v1/clinician/patients"
SUMMARY = "/api/v1/patients/{id}/summary"
ME = "/api/v1/me"
DUE = 50
ZONE = synthetic.ZONE_NAME

# --- the data, made in the database -----------------------------------------------------------

# Patients named from a few first and last names (so names repeat, as they do), with a number.
_PATIENTS = f"""
    INSERT INTO users (email, role, password_hash, display_name, timezone, created_at)
    SELECT $1 || n || '@bench.example.org', 'patient', '{synthetic.NO_PASSWORD}',
           (ARRAY['Ana','Ben','Chloe','Dev','Eli','Fatima','Gus','Hana','Ivan','Jo'])[1 + n % 10]
             || ' ' || (ARRAY['Reyes','Okafor','Fischer','Becker','Shah','Kim','Novak'])[1 + n % 7]
             || ' ' || n,
           '{ZONE}', now() - interval '200 days'
      FROM generate_series(1, $2) AS n
    RETURNING id"""

# 90 days of evening check-ins (one day in twelve missed), mood rising with treatment.
_CHECKINS = f"""
    INSERT INTO checkins (id, patient_id, recorded_at, local_day, mood, anxiety, energy,
                          sleep_hours, side_effects, client_updated_at, version, change_seq)
    SELECT gen_random_uuid(), p.id, m.at, m.day, m.mood, 10 - m.mood, m.mood, 7.0,
           CASE WHEN random() < 0.05 THEN '[{{"code": "headache", "severity": 1}}]'::jsonb
                ELSE '[]'::jsonb END,
           m.at, 'b' || m.n, m.n
      FROM unnest($1::uuid[]) AS p (id)
     CROSS JOIN LATERAL (
           SELECT n, d::date AS day,
                  (d::date + time '20:00') AT TIME ZONE '{ZONE}' AS at,
                  least(10, 3 + n / 20 + (random() * 3)::int) AS mood
             FROM generate_series(current_date - 89, current_date - 1, interval '1 day')
                  WITH ORDINALITY AS g (d, n)
            WHERE random() > 0.08) m"""

# A PHQ-9 every week for 26 weeks, from moderately severe towards mild (answers add up).
_PHQ9S = f"""
    INSERT INTO assessments (id, patient_id, instrument, answers, total, band, taken_at,
                             local_day, client_updated_at, version, change_seq)
    SELECT gen_random_uuid(), p.id, 'phq9',
           ARRAY(SELECT least(3, greatest(0, w.total - 3 * i)) FROM generate_series(0, 7) i)
             || 0::smallint,
           w.total,
           CASE WHEN w.total <= 4 THEN 'minimal' WHEN w.total <= 9 THEN 'mild'
                WHEN w.total <= 14 THEN 'moderate' WHEN w.total <= 19 THEN 'moderately_severe'
                ELSE 'severe' END,
           w.at, w.day, w.at, 'w' || w.n, 1000 + w.n
      FROM unnest($1::uuid[]) AS p (id)
     CROSS JOIN LATERAL (
           SELECT n, (current_date - 7 * (26 - n))::date AS day,
                  ((current_date - 7 * (26 - n))::date + time '09:00') AT TIME ZONE '{ZONE}' AS at,
                  greatest(0, 19 - n / 2 + (random() * 4)::int - 2)::smallint AS total
             FROM generate_series(0, 25) AS n) w"""

# Six induction infusions from 170 days ago, then a booster every four weeks.
_INFUSIONS = f"""
    INSERT INTO infusions (id, patient_id, scheduled_at, local_day, duration_minutes, status,
                           client_updated_at, version, change_seq)
    SELECT gen_random_uuid(), p.id, i.at, i.day, 40, 'completed', i.at, 'i' || i.d, 2000 + i.d
      FROM unnest($1::uuid[]) AS p (id)
     CROSS JOIN LATERAL (
           SELECT d, (current_date - 170 + d)::date AS day,
                  ((current_date - 170 + d)::date + time '10:00') AT TIME ZONE '{ZONE}' AS at
             FROM unnest(ARRAY[0, 3, 6, 9, 13, 17, 45, 73, 101, 129, 157]) AS d) i"""

# The clinic, the clinician a nurse of it (their roles read clinical data), and the patients'
# team shares.
_CLINIC = """
    WITH c AS (INSERT INTO clinics (name) VALUES ('Bench Clinic') RETURNING id),
         m AS (INSERT INTO clinic_members (clinic_id, clinician_id, roles)
               SELECT c.id, $2, ARRAY['nurse'] FROM c)
    INSERT INTO clinic_shares (clinic_id, patient_id, created_at)
    SELECT c.id, p.id, now() - interval '150 days' FROM c, unnest($1::uuid[]) AS p (id)"""


async def care_team(conn: asyncpg.Connection, clinician_id: uuid.UUID, count: int) -> None:
    """``count`` patients with a season of history, each sharing with a clinic of which the
    clinician is a nurse."""
    # Every row points at a patient made just before: skip the foreign-key triggers (a lookup
    # per row), as synthetic.History.copy does. The benchmark database's owner is superuser.
    await conn.execute("SET session_replication_role = replica")
    try:
        await conn.execute("SELECT setseed(0.19)")
        ids = [r["id"] for r in await conn.fetch(_PATIENTS, "team-", count)]
        for statement in (_CHECKINS, _PHQ9S, _INFUSIONS):
            await conn.execute(statement, ids)
        await conn.execute(_CLINIC, ids, clinician_id)
    finally:
        await conn.execute("RESET session_replication_role")
    await conn.execute("VACUUM ANALYZE")


# Planner patients: preferences (planned 24-48 h ahead, spread; every third one parked, as a
# patient without a device is), and for the others a device, tomorrow's pending reminder and an
# infusion in a month. Numbered $1..$2 ($3: now), so the table can grow in steps.
_PLANNER_PATIENTS = (
    f"""INSERT INTO users (email, role, password_hash, display_name, timezone, created_at)
        SELECT 'plan-' || n || '@bench.example.org', 'patient', '{synthetic.NO_PASSWORD}',
               'Planner ' || n, '{ZONE}', $3::timestamptz - interval '60 days'
          FROM generate_series($1::int, $2::int) AS n""",
    """INSERT INTO reminder_prefs (patient_id, daily_checkin_time, weekly_phq9_day,
                                   weekly_phq9_time, infusion_day_before, infusion_two_hours,
                                   infusion_evening_after, quiet_hours_start, quiet_hours_end,
                                   planned_until)
       SELECT u.id, '19:00', 7, '18:00', true, true, true, '21:00', '08:00',
              CASE WHEN n % 3 = 0 THEN 'infinity'
                   ELSE $3::timestamptz + interval '24 hours'
                        + (n::bigint * 7919 % 86000) * interval '1 second' END
         FROM generate_series($1::int, $2::int) AS n
         JOIN users u ON u.email = 'plan-' || n || '@bench.example.org'""",
)
# Then, for each planned patient who has none yet ($1, where used: now):
_PLANNER_DEVICES = (
    """INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth)
       SELECT p.patient_id, 'http://127.0.0.1:9/push/' || p.patient_id, 'BAAA', 'AAAA'
         FROM reminder_prefs p
        WHERE p.planned_until <> 'infinity'
          AND NOT EXISTS (SELECT FROM push_subscriptions s WHERE s.user_id = p.patient_id)""",
    """INSERT INTO push_outbox (user_id, kind, occurrence, due_at, stale_at, local_day, payload,
                               next_attempt_at)
       SELECT s.user_id, 'daily_checkin', 'daily:' || ($1::timestamptz + interval '1 day')::date,
              $1::timestamptz + interval '1 day', $1 + interval '1 day 2 hours',
              ($1 + interval '1 day')::date,
              '{"title": "Afterglow", "body": "Time for your check-in", "url": "/", "tag": "x"}',
              $1 + interval '1 day'
         FROM push_subscriptions s
        WHERE NOT EXISTS (SELECT FROM push_outbox o WHERE o.user_id = s.user_id)""",
    """INSERT INTO infusions (id, patient_id, scheduled_at, local_day, duration_minutes, status,
                              client_updated_at, version, change_seq)
       SELECT gen_random_uuid(), s.user_id, $1::timestamptz + interval '31 days',
              ($1 + interval '31 days')::date, 40, 'planned', $1, 'p', 1
         FROM push_subscriptions s
        WHERE NOT EXISTS (SELECT FROM infusions i WHERE i.patient_id = s.user_id)""",
)


async def grow_planner(conn: asyncpg.Connection, first: int, last: int, now: datetime) -> None:
    """Planner patients numbered ``first``..``last``."""
    await conn.execute("SET session_replication_role = replica")
    try:
        for statement in _PLANNER_PATIENTS:
            await conn.execute(statement, first, last, now)
        for statement in _PLANNER_DEVICES:
            await conn.execute(statement, *((now,) if "$1" in statement else ()))
    finally:
        await conn.execute("RESET session_replication_role")
    for table in ("users", "reminder_prefs", "push_subscriptions", "push_outbox", "infusions"):
        await conn.execute(f"VACUUM ANALYZE {table}")


# --- the parts --------------------------------------------------------------------------------


async def _median(client: httpx.AsyncClient, path: str, count: int, **params: str) -> list[float]:
    return await harness.time_requests(client, path, count=count, params=params or None)


async def list_and_summary(options: Options) -> list[Figure]:
    team = options.pick(5000, 500)
    count = options.pick(40, 8)
    figures: list[Figure] = []
    async with harness.database() as database_url, harness.real_app(database_url, options) as app:
        clinician_email = await synthetic.create_clinician(database_url)
        patient = await harness.register_patient(app.base_url)
        today = datetime.now(ZoneInfo(ZONE)).date()
        clock = time.monotonic()
        conn = await asyncpg.connect(database_url, timeout=10)
        try:
            clinician_id = await conn.fetchval(
                "SELECT id FROM users WHERE email = $1", clinician_email
            )
            await care_team(conn, clinician_id, team)
            history = synthetic.History(today)
            history.add(patient.id, 3650)
            await history.copy(conn)
            await conn.execute(
                "UPDATE users SET created_at = $2 WHERE id = $1",
                patient.id,
                datetime.now(UTC) - timedelta(days=3650),
            )
            await conn.execute("VACUUM ANALYZE")
            rows = await conn.fetchrow(
                """SELECT (SELECT count(*) FROM checkins) AS checkins,
                          (SELECT count(*) FROM assessments) AS assessments,
                          (SELECT count(*) FROM infusions) AS infusions"""
            )
        finally:
            await conn.close()
        loaded = (
            f"{team:,} patients sharing, and one with 10 years: {rows['checkins']:,} check-ins, "
            f"{rows['assessments']:,} assessments, {rows['infusions']:,} infusions "
            f"(made in {time.monotonic() - clock:.0f} s)"
        )

        clinician = await harness.sign_in(app.base_url, clinician_email)
        async with clinician.client(app.base_url) as client:
            me = statistics.median(await _median(client, ME, count))
            first = (await client.get(LIST)).json()
            timings = await _median(client, LIST, count)
            # Walk to the middle of the list, as a clinician paging through it would.
            page, seen = first, len(first["items"])
            while seen < team // 2 and page["next"]:
                page = (await client.get(LIST, params={"cursor": page["next"]})).json()
                seen += len(page["items"])
            middle = await _median(client, LIST, count, cursor=page["next"])
        if len(first["items"]) != min(team, 100) or first["next"] is None:
            raise RuntimeError(f"the first page lists {len(first['items'])} of {team} patients")
        baseline = f"GET /me {me:.1f} ms"
        head = statistics.median(timings)
        figures += [
            Figure(NAME, "GET /me median (baseline)", me, "ms", note=loaded),
            Figure(
                NAME,
                f"care team list, {team:,} patients: first page of 100 (median)",
                head,
                "ms",
                target="< 100 ms",
                ok=head < 100,
                baseline=baseline,
                ratio=head / me,
                note=f"p90 {harness.percentile(timings, 90):.1f} ms over {len(timings)} requests",
            ),
            Figure(
                NAME,
                f"care team list: the page after {seen:,} patients (median)",
                statistics.median(middle),
                "ms",
                baseline=f"first page {head:.1f} ms",
                ratio=statistics.median(middle) / head,
                note="keyset pages: a ratio near 1, the depth costs nothing",
            ),
        ]

        async with patient.client(app.base_url) as client:
            medians = {}
            for years in (1, 10):
                start = today - timedelta(days=365 * years - 1 if years == 1 else 3649)
                timed = await _median(
                    client,
                    SUMMARY.format(id=patient.id),
                    count,
                    **{"from": start.isoformat(), "to": today.isoformat()},
                )
                medians[years] = (statistics.median(timed), harness.percentile(timed, 90))
        ten, p90 = medians[10]
        figures.append(
            Figure(
                NAME,
                "summary, 10 years of daily data (median)",
                ten,
                "ms",
                target="< 50 ms",
                ok=ten < 50,
                baseline=baseline,
                ratio=ten / me,
                note=f"p90 {p90:.1f} ms; 1 year of the same patient {medians[1][0]:.1f} ms",
            )
        )
    return figures


async def planner(options: Options) -> list[Figure]:
    from bench.push_dispatch import timed_passes
    from server import db
    from server.config import Settings

    small, large = options.pick((10_000, 1_000_000), (2_000, 50_000))
    repeats = options.pick(5, 3)
    now = datetime.now(UTC)
    medians: dict[int, float] = {}
    notes: dict[int, str] = {}
    async with harness.database() as database_url:
        settings = Settings(env="test", database_url=database_url, secret_key="bench", worker=False)
        pool = await db.create_pool(database_url, settings)
        conn = await asyncpg.connect(database_url, timeout=30, command_timeout=600)
        try:
            made = 0
            for size in (small, large):
                clock = time.monotonic()
                await grow_planner(conn, made + 1, size, now)
                made = size
                due = [
                    r["patient_id"]
                    for r in await conn.fetch(
                        """SELECT patient_id FROM reminder_prefs WHERE planned_until <> 'infinity'
                            ORDER BY patient_id LIMIT $1""",
                        DUE,
                    )
                ]
                timings = await timed_passes(pool, conn, due, now, repeats)
                medians[size] = statistics.median(timings)
                notes[size] = (
                    f"made in {time.monotonic() - clock:.0f} s; max {max(timings):.1f} ms of "
                    f"{len(timings)} passes"
                )
        finally:
            await conn.close()
            await pool.close()
    base = medians[small]
    return [
        Figure(
            NAME,
            f"planner pass, {small:,} patients, {DUE} due (median)",
            base,
            "ms",
            note=notes[small],
        ),
        Figure(
            NAME,
            f"planner pass, {large:,} patients, {DUE} due (median)",
            medians[large],
            "ms",
            target=f"< 100 ms at {large:,}",
            ok=medians[large] < 100,
            baseline=f"{small:,} patients {base:.1f} ms",
            ratio=medians[large] / base,
            note=notes[large] + "; a ratio near 1: the size of the table costs nothing",
        ),
    ]


async def run(options: Options) -> list[Figure]:
    figures = await report.part(NAME, "list and summary", list_and_summary(options))
    figures += await report.part(NAME, "planner", planner(options))
    return figures
