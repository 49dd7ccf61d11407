"""The "did you get home safely?" reminder (issue 16): the day after a session the patient
arranged a ride home for, a reminder at 10:00 local opens the question in the app; its words
are neutral (the question itself is asked only in the app), it goes by email when no device can
be reached, and an answer cancels it. Real push service, real SMTP server, fixed moments of 2025
(New York)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import pytest

from server import db
from server.config import Settings
from server.domain.mail import health_words
from server.domain.reminders import ReminderPrefs
from server.push.dispatcher import Dispatcher
from server.push.mailer import Mailer
from server.services import reminders
from server.store import reminders as reminder_store
from tests.helpers.mail_server import MailServer, text_of
from tests.helpers.push import Clock, People, at, outbox
from tests.helpers.push_service import PushService

ONLY_SESSIONS = ReminderPrefs(daily_checkin_time=None, weekly_phq9_day=None, weekly_phq9_time=None)
PLANNED = at("2025-03-03T06:00:00-05:00")
SESSION = at("2025-03-03T11:00:00-05:00")
DAY_AFTER_10 = at("2025-03-04T10:00:00-05:00")
JUST_AFTER = at("2025-03-04T10:00:30-05:00")


async def _session(
    pool: db.Pool, patient: UUID, ride: str | None, prefs: ReminderPrefs = ONLY_SESSIONS
) -> UUID:
    """A completed session on 3 March, with the day-before checklist's ride (None: no
    checklist), then the patient's reminders planned as at 06:00 that day."""
    session = uuid.uuid4()
    async with db.transaction(pool) as conn:
        await reminder_store.save_prefs(conn, patient, prefs)
        await conn.execute(
            """INSERT INTO infusions (id, patient_id, scheduled_at, local_day, duration_minutes,
                                      status, client_updated_at, version, change_seq)
               VALUES ($1, $2, $3, '2025-03-03', 60, 'completed', now(), 'test', 0)""",
            session,
            patient,
            SESSION,
        )
        if ride is not None:
            await conn.execute(
                """INSERT INTO session_checklists (infusion_id, patient_id, ride)
                   VALUES ($1, $2, $3)""",
                session,
                patient,
                ride,
            )
        await reminder_store.replan_patient(conn, patient, now=PLANNED)
    return session


async def _home_safely(pool: db.Pool, patient: UUID, *statuses: str) -> list[dict[str, Any]]:
    return [
        r for r in await outbox(pool, patient, *statuses) if r["kind"] == "infusion_home_safely"
    ]


async def test_the_day_after_a_ride_home_the_patient_is_asked_by_a_neutral_push(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    patient = await people.user()
    phone = await people.device(patient, push_service)
    await _session(pool, patient, "rideshare")
    [row] = await _home_safely(pool, patient, "pending")
    assert row["due_at"] == DAY_AFTER_10

    await make_dispatcher(Clock(JUST_AFTER)).run_until_idle(JUST_AFTER)
    [delivery] = push_service.delivered_to(phone)
    sent = json.dumps(delivery.json())
    assert "A quick question about yesterday." in sent and "/day-before?home" in sent
    assert health_words(sent) == [] and "safely" not in sent
    assert [r["status"] for r in await _home_safely(pool, patient)] == ["sent"]


async def test_no_ride_arranged_or_an_answer_given_means_no_question(
    pool: db.Pool, people: People, push_service: PushService
) -> None:
    nobody = await people.user()
    await people.device(nobody, push_service)
    await _session(pool, nobody, None)
    await _session(pool, nobody, "none")
    assert await _home_safely(pool, nobody) == []

    answered = await people.user()
    await people.device(answered, push_service)
    session = await _session(pool, answered, "person")
    assert len(await _home_safely(pool, answered, "pending")) == 1
    async with db.transaction(pool) as conn:
        await conn.execute(
            "UPDATE session_checklists SET home_safely = true WHERE infusion_id = $1", session
        )
        await reminder_store.replan_patient(conn, answered, now=PLANNED)
    assert await _home_safely(pool, answered, "pending") == []


@pytest.fixture
def mailer(pool: db.Pool, settings: Settings, mail_server: MailServer) -> Callable[[], Any]:
    def send(now: datetime) -> Any:
        mail = Mailer(pool, msgspec.structs.replace(settings, smtp_url=mail_server.url), timeout=5)
        return mail.run_until_idle(now)

    return send


async def test_without_a_device_the_question_comes_by_email(
    pool: db.Pool,
    people: People,
    mail_server: MailServer,
    mailer: Callable[[datetime], Any],
) -> None:
    patient = await people.user()
    by_email = msgspec.structs.replace(ONLY_SESSIONS, email_reminders=True)
    await _session(pool, patient, "person", by_email)
    assert await reminders.email_fallback_pass(pool, at("2025-03-04T09:59:30-05:00")) == 1
    await mailer(JUST_AFTER)
    async with db.connection(pool) as conn:
        email = await conn.fetchval("SELECT email FROM users WHERE id = $1", patient)
    [message] = mail_server.to(email)
    body = text_of(message)
    assert "A quick question about yesterday:" in body and "/day-before?home" in body
    assert health_words(message["Subject"] + body) == []
