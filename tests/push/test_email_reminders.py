"""Email reminders with a real SMTP server (aiosmtpd): for a patient who opted in, a reminder
that cannot reach any device goes by email (no device, every device failing, a push that
reached nobody, or no check-in for 48 hours), exactly once, never with a push for the same
reminder, never inside quiet hours.

The worker's passes are run by hand at fixed moments of 2025 (New York): the email fallback
(server/services/reminders.py), the dispatcher, the mail sender."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, time
from typing import Any
from uuid import UUID

import msgspec
import pytest

from server import db
from server.config import Settings
from server.domain.reminders import ReminderPrefs
from server.push.dispatcher import Dispatcher
from server.push.mailer import Mailer
from server.services import reminders
from server.store import reminders as reminder_store
from tests.helpers.mail_server import MailServer, text_of
from tests.helpers.push import Clock, People, at, outbox
from tests.helpers.push_service import PushService

DAILY_8_BY_EMAIL = ReminderPrefs(
    daily_checkin_time=time(8, 0),
    weekly_phq9_day=None,
    weekly_phq9_time=None,
    infusion_day_before=False,
    infusion_evening_after=False,
    email_reminders=True,
)
PLANNED = at("2025-03-03T06:00:00-05:00")
JUST_BEFORE = at("2025-03-03T07:59:30-05:00")
JUST_AFTER = at("2025-03-03T08:00:30-05:00")
LATER = at("2025-03-03T08:02:00-05:00")


@pytest.fixture
def mailer(pool: db.Pool, settings: Settings, mail_server: MailServer) -> Callable[[], Any]:
    def send(now: datetime) -> Any:
        mail = Mailer(pool, msgspec.structs.replace(settings, smtp_url=mail_server.url), timeout=5)
        return mail.run_until_idle(now)

    return send


async def email_of(pool: db.Pool, patient: UUID) -> str:
    async with db.connection(pool) as conn:
        email: str = await conn.fetchval("SELECT email FROM users WHERE id = $1", patient)
    return email


async def plan(pool: db.Pool, patient: UUID, prefs: ReminderPrefs = DAILY_8_BY_EMAIL) -> None:
    async with db.transaction(pool) as conn:
        await reminder_store.save_prefs(conn, patient, prefs)
        await reminder_store.replan_patient(conn, patient, now=PLANNED)


async def daily(pool: db.Pool, patient: UUID, day: str = "2025-03-03") -> dict[str, Any]:
    [row] = [
        r
        for r in await outbox(pool, patient)
        if r["kind"] == "daily_checkin" and r["occurrence"] == day
    ]
    return row


async def test_without_a_device_the_reminder_goes_by_email_once(
    pool: db.Pool,
    people: People,
    mail_server: MailServer,
    mailer: Callable[[datetime], Any],
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    patient = await people.user()
    await plan(pool, patient)  # opted in: planned without a device

    assert await reminders.email_fallback_pass(pool, at("2025-03-03T07:00:00-05:00")) == 0
    assert await reminders.email_fallback_pass(pool, JUST_BEFORE) == 1
    assert (await daily(pool, patient))["status"] == "emailed"
    stats = await make_dispatcher(Clock(JUST_AFTER)).run_until_idle(JUST_AFTER)
    assert stats.claimed == 0  # never pushed as well

    await mailer(JUST_AFTER)
    [message] = mail_server.to(await email_of(pool, patient))
    assert message["Subject"] == "A reminder from Afterglow"
    assert "/?checkin" in text_of(message) and "turn off email reminders" in text_of(message)
    # Again and again: still one email for the one reminder.
    assert await reminders.email_fallback_pass(pool, LATER) == 0
    await mailer(LATER)
    assert len(mail_server.to(await email_of(pool, patient))) == 1


async def test_a_reachable_device_gets_the_push_and_no_email(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    mail_server: MailServer,
    mailer: Callable[[datetime], Any],
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    patient = await people.user()
    phone = await people.device(patient, push_service)
    await plan(pool, patient)

    assert await reminders.email_fallback_pass(pool, JUST_BEFORE) == 0
    await make_dispatcher(Clock(JUST_AFTER)).run_until_idle(JUST_AFTER)
    assert len(push_service.delivered_to(phone)) == 1
    assert await reminders.email_fallback_pass(pool, LATER) == 0
    await mailer(LATER)
    assert mail_server.to(await email_of(pool, patient)) == []


async def test_a_push_that_reaches_nobody_is_followed_by_an_email(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    mail_server: MailServer,
    mailer: Callable[[datetime], Any],
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    patient = await people.user()
    phone = await people.device(patient, push_service)
    push_service.forget(phone)  # 410: the browser dropped the subscription
    await plan(pool, patient)

    assert await reminders.email_fallback_pass(pool, JUST_BEFORE) == 0  # a device, not failing
    await make_dispatcher(Clock(JUST_AFTER)).run_until_idle(JUST_AFTER)
    assert (await daily(pool, patient))["status"] == "undeliverable"
    assert await reminders.email_fallback_pass(pool, LATER) == 1
    await mailer(LATER)
    assert len(mail_server.to(await email_of(pool, patient))) == 1
    assert push_service.delivered_to(phone) == []


async def test_every_device_failing_means_email_instead_of_push(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    mail_server: MailServer,
    mailer: Callable[[datetime], Any],
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    patient = await people.user()
    phone = await people.device(patient, push_service)
    async with db.transaction(pool) as conn:
        await conn.execute(
            "UPDATE push_subscriptions SET failures_in_row = 3 WHERE user_id = $1", patient
        )
    await plan(pool, patient)

    assert await reminders.email_fallback_pass(pool, JUST_BEFORE) == 1
    stats = await make_dispatcher(Clock(JUST_AFTER)).run_until_idle(JUST_AFTER)
    await mailer(JUST_AFTER)
    assert stats.pushes == 0 and push_service.delivered_to(phone) == []
    assert len(mail_server.to(await email_of(pool, patient))) == 1


async def test_two_days_without_a_check_in_switch_the_daily_reminder_to_email(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    mail_server: MailServer,
    mailer: Callable[[datetime], Any],
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    patient = await people.user()
    phone = await people.device(patient, push_service)
    async with db.transaction(pool) as conn:  # reminders on for a while, no check-in at all
        await conn.execute(
            "UPDATE users SET created_at = '2025-02-01T00:00Z' WHERE id = $1", patient
        )
    await plan(pool, patient)

    assert await reminders.email_fallback_pass(pool, JUST_BEFORE) == 1
    await make_dispatcher(Clock(JUST_AFTER)).run_until_idle(JUST_AFTER)
    await mailer(JUST_AFTER)
    assert push_service.delivered_to(phone) == []  # the email instead, never both
    assert len(mail_server.to(await email_of(pool, patient))) == 1

    # A check-in that evening: the next morning's reminder is a push again.
    async with db.transaction(pool) as conn:
        await conn.execute(
            """INSERT INTO checkins (id, patient_id, recorded_at, local_day, mood,
                                     client_updated_at, version, change_seq)
               VALUES ($1, $2, $3, '2025-03-03', 6, $3, 'test', 1)""",
            uuid.uuid4(),
            patient,
            at("2025-03-03T20:00:00-05:00"),
        )
    next_morning = at("2025-03-04T08:00:30-05:00")
    assert await reminders.email_fallback_pass(pool, at("2025-03-04T07:59:30-05:00")) == 0
    await make_dispatcher(Clock(next_morning)).run_until_idle(next_morning)
    assert len(push_service.delivered_to(phone)) == 1
    await mailer(next_morning)
    assert len(mail_server.to(await email_of(pool, patient))) == 1


async def test_no_email_inside_quiet_hours_and_none_without_the_opt_in(
    pool: db.Pool,
    people: People,
    mail_server: MailServer,
    mailer: Callable[[datetime], Any],
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    # A 07:00 session: its two-hours-before reminder is due at 05:00, inside the quiet hours
    # (21:00-08:00). As a push it ignores them; as an email it keeps them.
    patient = await people.user()
    prefs = msgspec.structs.replace(DAILY_8_BY_EMAIL, daily_checkin_time=None)
    async with db.transaction(pool) as conn:
        await reminder_store.save_prefs(conn, patient, prefs)
        await conn.execute(
            """INSERT INTO infusions (id, patient_id, scheduled_at, local_day, duration_minutes,
                                      status, client_updated_at, version, change_seq)
               VALUES ($1, $2, $3, '2025-03-04', 45, 'planned', now(), 'test', 0)""",
            uuid.uuid4(),
            patient,
            at("2025-03-04T07:00:00-05:00"),
        )
        await reminder_store.replan_patient(conn, patient, now=PLANNED)
    [soon] = [r for r in await outbox(pool, patient) if r["kind"] == "infusion_two_hours"]
    for moment in ("04:59:30", "05:00:30", "05:01:00", "06:30:00"):
        now = at(f"2025-03-04T{moment}-05:00")
        assert await reminders.email_fallback_pass(pool, now) == 0
        await make_dispatcher(Clock(now)).run_until_idle(now)
        await mailer(now)
    assert mail_server.to(await email_of(pool, patient)) == []
    assert soon["due_at"] == at("2025-03-04T05:00:00-05:00")

    # Without the opt-in, a patient without a device has nothing planned, nothing emailed.
    other = await people.user()
    await plan(pool, other, msgspec.structs.replace(DAILY_8_BY_EMAIL, email_reminders=False))
    assert await outbox(pool, other) == []
    assert await reminders.email_fallback_pass(pool, JUST_BEFORE) == 0
    await mailer(JUST_AFTER)
    assert mail_server.to(await email_of(pool, other)) == []
