"""A Spanish-speaking patient's reminders and emails are in Spanish (issue 18): read from the
local push service as the phone decrypts them, and from the SMTP server as it received them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any
from uuid import UUID

import msgspec

from server import db
from server.config import Settings
from server.domain.reminders import ReminderPrefs
from server.push.dispatcher import Dispatcher
from server.push.mailer import Mailer
from server.store import reminders as reminder_store
from tests.helpers.accounts import register, unique_email
from tests.helpers.mail_server import MailServer
from tests.helpers.push import Clock, People, at, outbox
from tests.helpers.push_service import PushService

DAILY_8 = ReminderPrefs(daily_checkin_time=time(8, 0), weekly_phq9_day=None, weekly_phq9_time=None)


async def speaks(pool: db.Pool, user: UUID, language: str) -> None:
    async with db.transaction(pool) as conn:
        await conn.execute("UPDATE users SET language = $2 WHERE id = $1", user, language)


async def test_a_spanish_speaking_patients_reminders_are_in_spanish(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    patient = await people.user("America/New_York")
    await speaks(pool, patient, "es")
    sub = await people.device(patient, push_service)
    now = at("2025-06-02T10:00Z")
    async with db.transaction(pool) as conn:
        await reminder_store.save_prefs(conn, patient, DAILY_8)
        await reminder_store.replan_patient(conn, patient, now=now)
    clock = Clock(at("2025-06-03T12:00Z"))  # 08:00 in New York
    await make_dispatcher(clock).run_until_idle()
    shown = [delivery.json()["notification"] for delivery in push_service.delivered_to(sub)]
    assert [(n["title"], n["body"], n["tag"], n["lang"]) for n in shown] == [
        ("Afterglow", "Es hora de tu registro", "daily", "es")
    ]

    # Back to English: what is planned is rewritten at once (as a move of time zone would).
    await speaks(pool, patient, "en")
    async with db.transaction(pool) as conn:
        await reminder_store.replan_patient(conn, patient, now=clock.now)
    planned = [r for r in await outbox(pool, patient, "pending") if r["kind"] == "daily_checkin"]
    assert planned
    async with db.transaction(pool) as conn:
        bodies = await conn.fetch(
            "SELECT payload->'notification'->>'body' AS body FROM push_outbox "
            "WHERE user_id = $1 AND status = 'pending'",
            patient,
        )
    assert {r["body"] for r in bodies} == {"Time for your check-in"}


async def test_a_spanish_speaking_patients_emails_are_in_spanish(
    client_factory: Any, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    email = unique_email()
    me = await register(client_factory(), email=email, language="es")
    assert me["language"] == "es"
    english = unique_email()
    await register(client_factory(), email=english, language="en")
    for address in (email, english):
        asked = await client_factory().post("/api/v1/auth/password-reset", json={"email": address})
        assert asked.status_code == 202
    mailer = Mailer(pool, msgspec.structs.replace(settings, smtp_url=mail_server.url), timeout=5)
    await mailer.run_until_idle()

    (spanish,) = mail_server.to(email)
    assert spanish["Subject"] == "Elige una contraseña nueva para Afterglow"
    body = spanish.get_content()
    assert "Alguien pidió elegir una contraseña nueva" in body
    assert "/reset#token=" in body and "30 minutos" in body
    (plain,) = mail_server.to(english)
    assert plain["Subject"] == "Choose a new Afterglow password"
