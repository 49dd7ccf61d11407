"""The planner end to end: preferences and infusions become outbox rows at the right moments,
skip rules and re-planning hold, and what reaches the push service is the payload a phone shows.

Every kind is checked in America/New_York across both DST changes of 2025 and in zones with
half-hour offsets (Asia/Kolkata, Australia/Adelaide).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from server import db
from server.domain.reminders import ReminderPrefs
from server.push.dispatcher import Dispatcher
from server.store import reminders as reminder_store
from tests.helpers.push import Clock, People, at, outbox
from tests.helpers.push_service import PushService, Subscription

DAILY_8 = ReminderPrefs(daily_checkin_time=time(8, 0), weekly_phq9_day=None, weekly_phq9_time=None)
NO_ROUTINE = ReminderPrefs(daily_checkin_time=None, weekly_phq9_day=None, weekly_phq9_time=None)


async def set_prefs(pool: db.Pool, patient: UUID, prefs: ReminderPrefs, now: datetime) -> None:
    async with db.transaction(pool) as conn:
        await reminder_store.save_prefs(conn, patient, prefs)
        await reminder_store.replan_patient(conn, patient, now=now)


async def replan(pool: db.Pool, patient: UUID, now: datetime) -> None:
    async with db.transaction(pool) as conn:
        await reminder_store.replan_patient(conn, patient, now=now)


async def put_infusion(
    pool: db.Pool,
    patient: UUID,
    when: str | None,
    *,
    zone: str = "America/New_York",
    minutes: int = 45,
    status: str = "planned",
    infusion_id: UUID | None = None,
    now: datetime,
) -> UUID:
    """Write an infusion row as the logging store would, then re-plan (as it does)."""
    infusion_id = infusion_id or uuid.uuid4()
    scheduled = at(when) if when else None
    async with db.transaction(pool) as conn:
        await conn.execute(
            """INSERT INTO infusions (id, patient_id, scheduled_at, local_day, duration_minutes,
                                      status, client_updated_at, version, change_seq)
               VALUES ($1, $2, $3, $4, $5, $6, now(), 'test', 0)
               ON CONFLICT (id) DO UPDATE SET scheduled_at = EXCLUDED.scheduled_at,
                   local_day = EXCLUDED.local_day, status = EXCLUDED.status""",
            infusion_id,
            patient,
            scheduled,
            scheduled.astimezone(ZoneInfo(zone)).date() if scheduled else None,
            minutes,
            status,
        )
        await reminder_store.replan_patient(conn, patient, now=now)
    return infusion_id


async def pending(pool: db.Pool, patient: UUID, kind: str | None = None) -> list[datetime]:
    return [
        r["due_at"] for r in await outbox(pool, patient, "pending") if kind in (None, r["kind"])
    ]


async def run_through(
    dispatcher: Dispatcher, clock: Clock, pool: db.Pool, until: datetime, *patients: UUID
) -> None:
    """What the worker does, up to ``until``: re-plan (the rolling pass) and dispatch at each
    moment a reminder falls due."""
    while True:
        ahead = []
        for patient in patients:
            await replan(pool, patient, clock.now)
            ahead += [t for t in await pending(pool, patient) if t >= clock.now]
        step = min([*ahead, clock.now + reminder_store.REPLAN_AHEAD])
        if step > until:
            return
        clock.now = step
        await dispatcher.run_until_idle()


async def sent(pool: db.Pool, patient: UUID) -> list[tuple[str, datetime]]:
    return [(r["kind"], r["due_at"]) for r in await outbox(pool, patient, "sent")]


def received(service: PushService, sub: Subscription) -> list[dict[str, Any]]:
    """What the phone shows of each push: a declarative Web Push message's title, body, tag and
    the page it opens (without the reminder's id, ``r=``, which tests/push/test_every_phone.py
    checks)."""
    shown = []
    for delivery in service.delivered_to(sub):
        message = delivery.json()
        assert message["web_push"] == 8030
        notification = message["notification"]
        url, _, reminder = notification["navigate"].partition("&r=")
        assert len(reminder) == 36
        shown.append(
            {
                "title": notification["title"],
                "body": notification["body"],
                "url": url,
                "tag": notification["tag"],
            }
        )
    return shown


async def test_daily_check_in_stays_at_local_time_across_both_dst_changes(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    patient = await people.user("America/New_York")
    sub = await people.device(patient, push_service)

    await set_prefs(pool, patient, DAILY_8, at("2025-03-07T16:00Z"))
    assert await pending(pool, patient) == [
        at("2025-03-08T08:00-05:00"),
        at("2025-03-09T08:00-04:00"),
    ]
    clock = Clock(at("2025-03-07T16:00Z"))
    await run_through(make_dispatcher(clock), clock, pool, at("2025-03-10T23:00Z"), patient)

    await replan(pool, patient, at("2025-10-31T15:00Z"))
    assert await pending(pool, patient) == [
        at("2025-11-01T08:00-04:00"),
        at("2025-11-02T08:00-05:00"),
    ]
    clock.now = at("2025-10-31T15:00Z")
    await run_through(make_dispatcher(clock), clock, pool, at("2025-11-03T23:00Z"), patient)

    assert [due for _, due in await sent(pool, patient)] == [
        at("2025-03-08T08:00-05:00"),
        at("2025-03-09T08:00-04:00"),
        at("2025-03-10T08:00-04:00"),
        at("2025-11-01T08:00-04:00"),
        at("2025-11-02T08:00-05:00"),
        at("2025-11-03T08:00-05:00"),
    ]
    assert received(push_service, sub) == 6 * [
        {"title": "Afterglow", "body": "Time for your check-in", "url": "/?checkin", "tag": "daily"}
    ]


async def test_local_times_the_clock_skips_or_repeats(
    pool: db.Pool, people: People, push_service: PushService
) -> None:
    patient = await people.user("America/New_York")
    await people.device(patient, push_service)
    night = msgspec.structs.replace(
        DAILY_8, daily_checkin_time=time(2, 30), quiet_hours_start=None, quiet_hours_end=None
    )
    await set_prefs(pool, patient, night, at("2025-03-08T12:00Z"))
    # 02:30 does not exist on 9 March: the gap's length later, 03:30 EDT.
    assert (await pending(pool, patient))[0] == at("2025-03-09T03:30-04:00")

    await set_prefs(
        pool,
        patient,
        msgspec.structs.replace(night, daily_checkin_time=time(1, 30)),
        at("2025-11-01T12:00Z"),
    )
    # 01:30 happens twice on 2 November: once, at the first.
    assert await pending(pool, patient) == [
        at("2025-11-02T01:30-04:00"),
        at("2025-11-03T01:30-05:00"),
    ]


async def test_infusion_reminders_across_spring_forward(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    now = at("2025-03-08T00:00Z")
    patient = await people.user("America/New_York")
    sub = await people.device(patient, push_service)
    await set_prefs(pool, patient, NO_ROUTINE, now)
    await put_infusion(pool, patient, "2025-03-09T10:00-04:00", minutes=60, now=now)

    rows = await outbox(pool, patient, "pending")
    assert [(r["kind"], r["due_at"]) for r in rows] == [
        ("infusion_day_before", at("2025-03-08T10:00-05:00")),  # 23 h before: same clock time
        ("infusion_two_hours", at("2025-03-09T08:00-04:00")),
        ("infusion_evening_after", at("2025-03-09T19:00-04:00")),
    ]
    clock = Clock(now)
    await run_through(make_dispatcher(clock), clock, pool, at("2025-03-12T00:00Z"), patient)

    assert await sent(pool, patient) == [(r["kind"], r["due_at"]) for r in rows]
    assert received(push_service, sub) == [
        {
            "title": "Afterglow",
            "body": "Your session is tomorrow. Please arrange a ride home — no driving until "
            "the next day after sleep.",
            "url": "/day-before?checklist",
            "tag": "session",
        },
        {
            "title": "Afterglow",
            "body": "Your session starts in 2 hours. Remember your ride home.",
            "url": "/?sessions",
            "tag": "session",
        },
        {
            "title": "Afterglow",
            "body": "How are you feeling? A quick check-in helps.",
            "url": "/?checkin",
            "tag": "evening",
        },
    ]
    urgencies = [d.urgency for d in push_service.delivered_to(sub)]
    assert urgencies == ["normal", "high", "normal"]


async def test_infusion_reminders_across_fall_back(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    now = at("2025-10-31T12:00Z")
    patient = await people.user("America/New_York")
    sub = await people.device(patient, push_service)
    await set_prefs(pool, patient, NO_ROUTINE, now)
    await put_infusion(pool, patient, "2025-11-02T10:00-05:00", now=now)
    await replan(pool, patient, at("2025-11-01T12:00Z"))  # the rolling planner, a day later

    assert [(r["kind"], r["due_at"]) for r in await outbox(pool, patient, "pending")] == [
        ("infusion_day_before", at("2025-11-01T10:00-04:00")),  # 25 h before
        ("infusion_two_hours", at("2025-11-02T08:00-05:00")),
        ("infusion_evening_after", at("2025-11-02T19:00-05:00")),
    ]
    clock = Clock(now)
    await run_through(make_dispatcher(clock), clock, pool, at("2025-11-05T00:00Z"), patient)
    assert [kind for kind, _ in await sent(pool, patient)] == [
        "infusion_day_before",
        "infusion_two_hours",
        "infusion_evening_after",
    ]
    assert len(received(push_service, sub)) == 3


async def test_weekly_questionnaire_across_dst_and_its_skip_rule(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    patient = await people.user("America/New_York")
    sub = await people.device(patient, push_service)
    weekly = ReminderPrefs(daily_checkin_time=None, weekly_phq9_day=7, weekly_phq9_time=time(18, 0))
    clock = Clock(at("2025-03-01T12:00Z"))
    dispatcher = make_dispatcher(clock)

    await set_prefs(pool, patient, weekly, clock.now)
    assert await pending(pool, patient) == [at("2025-03-02T18:00-05:00")]
    await run_through(dispatcher, clock, pool, at("2025-03-03T00:00Z"), patient)
    # Questionnaires done on Wednesday and on Sunday an hour before the reminder: within the 6
    # days before Sunday the 9th (skipped), but 7 days and an hour before the 16th (sent).
    await add_phq9(pool, patient, at("2025-03-05T12:00-05:00"))
    await add_phq9(pool, patient, at("2025-03-09T17:00-04:00"))
    await run_through(dispatcher, clock, pool, at("2025-03-17T00:00Z"), patient)

    statuses = [(r["occurrence"], r["due_at"], r["status"]) for r in await outbox(pool, patient)]
    assert statuses == [
        ("2025-W09", at("2025-03-02T18:00-05:00"), "sent"),
        ("2025-W10", at("2025-03-09T18:00-04:00"), "skipped"),
        ("2025-W11", at("2025-03-16T18:00-04:00"), "sent"),
    ]
    assert received(push_service, sub) == 2 * [
        {
            "title": "Afterglow",
            "body": "Your weekly questionnaire is ready",
            "url": "/?questionnaire",
            "tag": "weekly",
        }
    ]


async def add_phq9(pool: db.Pool, patient: UUID, taken: datetime) -> None:
    async with db.transaction(pool) as conn:
        await conn.execute(
            """INSERT INTO assessments (id, patient_id, instrument, answers, total, band, taken_at,
                                        local_day, client_updated_at, version, change_seq)
               VALUES ($1, $2, 'phq9', '{0,0,0,0,0,0,0,0,0}', 0, 'minimal', $3, $4, now(),
                       'test', 0)""",
            uuid.uuid4(),
            patient,
            taken,
            taken.date(),
        )


async def test_daily_check_in_is_skipped_when_that_local_day_is_logged(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    patient = await people.user("America/New_York")
    sub = await people.device(patient, push_service)
    evening = msgspec.structs.replace(DAILY_8, daily_checkin_time=time(19, 0))
    clock = Clock(at("2025-06-10T12:00-04:00"))
    await set_prefs(pool, patient, evening, clock.now)
    # Logged at 13:00 on the 10th; and at 22:30 on the 10th, which is already the 11th in UTC:
    # the day that counts is the patient's own.
    await add_checkin(pool, patient, at("2025-06-10T13:00-04:00"), "2025-06-10")
    await add_checkin(pool, patient, at("2025-06-11T02:30Z"), "2025-06-10")

    await run_through(make_dispatcher(clock), clock, pool, at("2025-06-12T00:00Z"), patient)

    statuses = [(r["occurrence"], r["status"]) for r in await outbox(pool, patient)]
    assert statuses[:2] == [("2025-06-10", "skipped"), ("2025-06-11", "sent")]
    assert len(received(push_service, sub)) == 1


async def add_checkin(pool: db.Pool, patient: UUID, recorded: datetime, day: str) -> None:
    async with db.transaction(pool) as conn:
        await conn.execute(
            """INSERT INTO checkins (id, patient_id, recorded_at, local_day, mood,
                                     client_updated_at, version, change_seq)
               VALUES ($1, $2, $3, $4::text::date, 6, now(), 'test', 0)""",
            uuid.uuid4(),
            patient,
            recorded,
            day,
        )


async def test_half_hour_zones(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    kolkata = await people.user("Asia/Kolkata")
    adelaide = await people.user("Australia/Adelaide")
    subs = [await people.device(kolkata, push_service), await people.device(adelaide, push_service)]
    now = at("2025-10-03T12:00Z")
    await set_prefs(pool, kolkata, DAILY_8, now)
    await set_prefs(pool, adelaide, DAILY_8, now)
    await put_infusion(pool, kolkata, "2025-10-05T10:00+05:30", zone="Asia/Kolkata", now=now)
    # Adelaide moves from +09:30 to +10:30 at 02:00 on 5 October.
    await put_infusion(pool, adelaide, "2025-10-05T10:00+10:30", zone="Australia/Adelaide", now=now)

    def kinds(rows: list[dict[str, Any]]) -> list[tuple[str, datetime]]:
        return [(r["kind"], r["due_at"]) for r in rows]

    assert kinds(await outbox(pool, kolkata, "pending")) == [
        ("daily_checkin", at("2025-10-04T08:00+05:30")),
        ("infusion_day_before", at("2025-10-04T10:00+05:30")),
        ("daily_checkin", at("2025-10-05T08:00+05:30")),
        ("infusion_two_hours", at("2025-10-05T08:00+05:30")),
    ]
    assert kinds(await outbox(pool, adelaide, "pending")) == [
        ("daily_checkin", at("2025-10-04T08:00+09:30")),
        ("infusion_day_before", at("2025-10-04T10:00+09:30")),  # 23 h before
        ("daily_checkin", at("2025-10-05T08:00+10:30")),
        ("infusion_two_hours", at("2025-10-05T08:00+10:30")),
        ("infusion_evening_after", at("2025-10-05T19:00+10:30")),
    ]
    clock = Clock(now)
    dispatcher = make_dispatcher(clock)
    await run_through(dispatcher, clock, pool, at("2025-10-06T00:00Z"), kolkata, adelaide)
    assert await sent(pool, adelaide) == [
        ("daily_checkin", at("2025-10-04T08:00+09:30")),
        ("infusion_day_before", at("2025-10-04T10:00+09:30")),
        ("daily_checkin", at("2025-10-05T08:00+10:30")),
        ("infusion_two_hours", at("2025-10-05T08:00+10:30")),
        ("infusion_evening_after", at("2025-10-05T19:00+10:30")),
        ("daily_checkin", at("2025-10-06T08:00+10:30")),
    ]
    assert [kind for kind, _ in await sent(pool, kolkata)] == [
        "daily_checkin",
        "infusion_day_before",
        "daily_checkin",
        "infusion_two_hours",
        "infusion_evening_after",
    ]
    assert [len(push_service.delivered_to(s)) for s in subs] == [5, 6]


async def test_quiet_hours(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    now = at("2025-06-08T12:00Z")
    late, early = await people.user(), await people.user()
    late_sub, early_sub = (
        await people.device(late, push_service),
        await people.device(early, push_service),
    )
    for patient in (late, early):
        await set_prefs(pool, patient, NO_ROUTINE, now)
    await put_infusion(pool, late, "2025-06-10T21:30-04:00", minutes=60, now=now)
    await put_infusion(pool, early, "2025-06-10T07:00-04:00", now=now)
    clock = Clock(now)
    dispatcher = make_dispatcher(clock)
    await run_through(dispatcher, clock, pool, at("2025-06-12T00:00Z"), late, early)

    assert await sent(pool, late) == [
        ("infusion_day_before", at("2025-06-10T08:00-04:00")),  # 21:30 is quiet: next morning
        ("infusion_two_hours", at("2025-06-10T19:30-04:00")),
        ("infusion_evening_after", at("2025-06-11T08:00-04:00")),  # ends 22:30: next morning
    ]
    assert await sent(pool, early) == [
        ("infusion_day_before", at("2025-06-09T08:00-04:00")),
        ("infusion_two_hours", at("2025-06-10T05:00-04:00")),  # overrides quiet hours
        ("infusion_evening_after", at("2025-06-10T19:00-04:00")),
    ]
    assert len(push_service.delivered_to(late_sub)) == len(push_service.delivered_to(early_sub))


async def test_moving_an_infusion_sends_only_the_new_time(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    now = at("2025-06-08T12:00Z")
    patient = await people.user()
    sub = await people.device(patient, push_service)
    await set_prefs(pool, patient, NO_ROUTINE, now)
    session = await put_infusion(pool, patient, "2025-06-09T15:00-04:00", now=now)
    clock = Clock(now)
    dispatcher = make_dispatcher(clock)
    # The day-before reminder goes out at 15:00 on the 8th ...
    clock.now = at("2025-06-08T15:00-04:00")
    await dispatcher.run_until_idle()
    # ... then the session moves to the 10th at 11:00, and a moment later to 09:30.
    await put_infusion(pool, patient, "2025-06-10T11:00-04:00", infusion_id=session, now=clock.now)
    await put_infusion(pool, patient, "2025-06-10T09:30-04:00", infusion_id=session, now=clock.now)
    await run_through(dispatcher, clock, pool, at("2025-06-12T00:00Z"), patient)

    assert await sent(pool, patient) == [
        ("infusion_day_before", at("2025-06-08T15:00-04:00")),  # for the old time, before the move
        ("infusion_day_before", at("2025-06-09T09:30-04:00")),
        ("infusion_two_hours", at("2025-06-10T07:30-04:00")),
        ("infusion_evening_after", at("2025-06-10T19:00-04:00")),
    ]
    cancelled = [(r["kind"], r["due_at"]) for r in await outbox(pool, patient, "cancelled")]
    assert ("infusion_two_hours", at("2025-06-09T13:00-04:00")) in cancelled  # the old time
    assert len(push_service.delivered_to(sub)) == 4


async def test_cancelling_or_deleting_an_infusion_sends_nothing_more(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    now = at("2025-06-08T12:00Z")
    patient = await people.user()
    await people.device(patient, push_service)
    await set_prefs(pool, patient, NO_ROUTINE, now)
    cancelled = await put_infusion(pool, patient, "2025-06-09T15:00-04:00", now=now)
    deleted = await put_infusion(pool, patient, "2025-06-09T10:00-04:00", now=now)
    assert len(await pending(pool, patient)) == 6

    await put_infusion(
        pool, patient, "2025-06-09T15:00-04:00", infusion_id=cancelled, status="cancelled", now=now
    )
    async with db.transaction(pool) as conn:
        await conn.execute(
            """UPDATE infusions SET deleted = true, scheduled_at = NULL, local_day = NULL,
                   duration_minutes = NULL, status = NULL WHERE id = $1""",
            deleted,
        )
        await reminder_store.replan_patient(conn, patient, now=now)
    clock = Clock(at("2025-06-12T12:00Z"))
    await make_dispatcher(clock).run_until_idle()

    assert await pending(pool, patient) == []
    assert {r["status"] for r in await outbox(pool, patient)} == {"cancelled"}
    assert push_service.requests == []


async def test_one_pass_over_several_patients_cancels_only_what_no_longer_holds(
    pool: db.Pool, people: People, push_service: PushService
) -> None:
    now = at("2025-06-08T12:00Z")
    moved, kept = await people.user(), await people.user()
    sessions = {}
    for patient in (moved, kept):
        await people.device(patient, push_service)
        await set_prefs(pool, patient, DAILY_8, now)
        sessions[patient] = await put_infusion(pool, patient, "2025-06-09T15:00-04:00", now=now)
    before = {patient: await pending(pool, patient) for patient in (moved, kept)}
    async with db.transaction(pool) as conn:
        # The session moves without a re-plan of its own; both patients then come due.
        await conn.execute(
            "UPDATE infusions SET scheduled_at = $2, local_day = $3 WHERE id = $1",
            sessions[moved],
            at("2025-06-10T11:00-04:00"),
            date(2025, 6, 10),
        )
        await conn.execute(
            """UPDATE reminder_prefs SET planned_until = '-infinity'
               WHERE patient_id = ANY($1::uuid[])""",
            [moved, kept],
        )
        await reminder_store.rolling_plan(conn, now)

    assert await pending(pool, kept) == before[kept]
    assert [r["status"] for r in await outbox(pool, kept)] == ["pending"] * len(before[kept])
    cancelled = [(r["kind"], r["due_at"]) for r in await outbox(pool, moved, "cancelled")]
    assert sorted(cancelled) == [
        ("infusion_day_before", at("2025-06-08T15:00-04:00")),
        ("infusion_evening_after", at("2025-06-09T19:00-04:00")),
        ("infusion_two_hours", at("2025-06-09T13:00-04:00")),
    ]
    assert await pending(pool, moved, "infusion_day_before") == [at("2025-06-09T11:00-04:00")]
    assert await pending(pool, moved, "daily_checkin") == await pending(pool, kept, "daily_checkin")


async def test_without_a_device_a_patient_is_parked(
    pool: db.Pool, people: People, push_service: PushService
) -> None:
    now = at("2025-06-08T12:00Z")
    patient = await people.user()
    await set_prefs(pool, patient, DAILY_8, now)
    assert await pending(pool, patient) == []
    assert await planned_until(pool, patient) is None
    await people.device(patient, push_service)
    await replan(pool, patient, now)
    assert len(await pending(pool, patient)) == 2
    assert await planned_until(pool, patient) == now + reminder_store.HORIZON


async def planned_until(pool: db.Pool, patient: UUID) -> datetime | None:
    """How far the patient's reminders are planned; None when parked (infinity)."""
    async with db.transaction(pool) as conn:
        row = await conn.fetchrow(
            """SELECT CASE WHEN isfinite(planned_until) THEN planned_until END AS until
               FROM reminder_prefs WHERE patient_id = $1""",
            patient,
        )
    assert row is not None
    until: datetime | None = row["until"]
    return until


async def test_the_rolling_pass_only_touches_patients_coming_due(
    pool: db.Pool, people: People, push_service: PushService
) -> None:
    start = at("2025-06-08T12:00Z")
    patients = [await people.user() for _ in range(3)]
    for n, patient in enumerate(patients):
        await people.device(patient, push_service)
        await set_prefs(pool, patient, DAILY_8, start + timedelta(hours=n))

    planned = [start + timedelta(hours=48 + n) for n in range(3)]

    async def rolling_pass(now: datetime) -> None:
        async with db.transaction(pool) as conn:
            await reminder_store.rolling_plan(conn, now)

    await rolling_pass(start + timedelta(hours=23))
    assert [await planned_until(pool, p) for p in patients] == planned
    # Only the first is planned to within 24 h of start + 24:30: only it is touched.
    await rolling_pass(start + timedelta(hours=24, minutes=30))
    assert [await planned_until(pool, p) for p in patients] == [
        start + timedelta(hours=72, minutes=30),
        *planned[1:],
    ]
    assert len(await pending(pool, patients[0])) == 3  # the 9th, 10th and 11th at 08:00
