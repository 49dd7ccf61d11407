"""Reminders that reach every phone (issue 17), through the local push service: the payload is
a declarative Web Push message (Safari shows it without the service worker; the service worker
reads the same fields), devices report "shown" and "opened" per reminder, and Settings counts
them per device, with a hint for a device whose reminders arrive and are never shown."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import time, timedelta
from typing import Any

import msgspec

from server import db
from server.config import Settings
from server.domain.push_message import declarative, reminder_id
from server.domain.reminders import PAYLOADS, ReminderPrefs
from server.push.dispatcher import Dispatcher
from server.push.mailer import Mailer
from server.store import reminders as reminder_store
from server.timeutil import utc_now
from tests.helpers.client import Client
from tests.helpers.push import Clock, People, at, outbox
from tests.helpers.push_service import PushService
from tests.helpers.sharing import share

DAILY_8 = ReminderPrefs(daily_checkin_time=time(8, 0), weekly_phq9_day=None, weekly_phq9_time=None)


async def test_the_daily_reminder_arrives_as_a_declarative_web_push_message(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    patient = await people.user()
    phone = await people.device(patient, push_service)
    planned_at = at("2025-03-03T06:00:00-05:00")
    async with db.transaction(pool) as conn:
        await reminder_store.save_prefs(conn, patient, DAILY_8)
        await reminder_store.replan_patient(conn, patient, now=planned_at)

    await make_dispatcher(Clock(at("2025-03-03T08:00:30-05:00"))).run_until_idle()

    [delivery] = push_service.delivered_to(phone)
    [row] = [r for r in await outbox(pool, patient, "sent") if r["kind"] == "daily_checkin"]
    reminder = reminder_id(patient, "daily_checkin", "2025-03-03")
    assert delivery.json() == {
        "web_push": 8030,
        "notification": {
            "title": "Afterglow",
            "body": "Time for your check-in",
            "navigate": f"/?checkin&r={reminder}",
            "tag": "daily",
        },
        "app_badge": 1,
    }
    assert row["payload"] == delivery.json()
    async with db.connection(pool) as conn:
        stored = await conn.fetchval("SELECT reminder_id FROM push_outbox WHERE id = $1", row["id"])
    assert stored == reminder
    # Planning again gives the same id and payload: nothing pending is rewritten.
    async with db.transaction(pool) as conn:
        await reminder_store.replan_patient(conn, patient, now=planned_at)
    tomorrow = [r for r in await outbox(pool, patient, "pending") if r["kind"] == "daily_checkin"]
    assert all("r=" in r["payload"]["notification"]["navigate"] for r in tomorrow)


async def _delivered_reminder(
    pool: db.Pool,
    patient: Client,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> tuple[uuid.UUID, uuid.UUID]:
    """A device of ``patient`` and one daily reminder delivered to it just now."""
    me = uuid.UUID(patient.me["id"])  # type: ignore[attr-defined]
    device = push_service.subscribe()
    added = await patient.post("/api/v1/push/subscriptions", json=device.as_json())
    assert added.status_code == 201
    now = utc_now()
    occurrence = f"test-{uuid.uuid4().hex[:8]}"
    reminder = reminder_id(me, "daily_checkin", occurrence)
    payload = declarative("daily_checkin", PAYLOADS["daily_checkin"], reminder)
    async with db.transaction(pool) as conn:
        await conn.execute(
            """INSERT INTO push_outbox (user_id, kind, occurrence, due_at, stale_at, payload,
                                        next_attempt_at, reminder_id)
               VALUES ($1, 'daily_checkin', $2, $3, $4, $5::text::jsonb, $3, $6)""",
            me,
            occurrence,
            now - timedelta(seconds=5),
            now + timedelta(hours=1),
            msgspec.json.encode(payload).decode(),
            reminder,
        )
    await make_dispatcher(Clock(now)).run_until_idle()
    assert len(push_service.delivered_to(device)) == 1
    return reminder, uuid.UUID(added.json()["id"])


async def test_shown_and_opened_receipts_arrive_and_are_counted_once_per_device(
    pool: db.Pool,
    patient: Client,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    reminder, device = await _delivered_reminder(pool, patient, push_service, make_dispatcher)
    [before] = (await patient.get("/api/v1/push/devices")).json()
    assert before == {
        "id": str(device),
        "created_at": before["created_at"],
        "delivered": 1,
        "shown": None,  # this device never reported "shown": unknown, not zero
        "opened": 0,
        "check_settings": False,
    }

    now = utc_now().isoformat()
    batch = {
        "receipts": [
            {"reminder": str(reminder), "event": "shown", "at": now, "device": str(device)},
            {"reminder": str(reminder), "event": "opened", "at": now, "device": str(device)},
            # Another account's (or an invented) reminder is dropped, quietly.
            {"reminder": str(uuid.uuid4()), "event": "shown", "at": now, "device": str(device)},
        ]
    }
    first = await patient.post("/api/v1/push/receipts", json=batch)
    assert first.status_code == 200 and first.json() == {"recorded": 2}
    # A replay (the answer was lost offline) counts nothing twice.
    again = await patient.post("/api/v1/push/receipts", json=batch)
    assert again.json() == {"recorded": 0}
    [after] = (await patient.get("/api/v1/push/devices")).json()
    assert (after["delivered"], after["shown"], after["opened"]) == (1, 1, 1)
    assert after["check_settings"] is False

    # "opened" from a page a declarative notification opened, on a phone that does not know
    # its device id: kept, once, for no device in particular.
    page = {"receipts": [{"reminder": str(reminder), "event": "opened", "at": now}]}
    assert (await patient.post("/api/v1/push/receipts", json=page)).json() == {"recorded": 1}
    assert (await patient.post("/api/v1/push/receipts", json=page)).json() == {"recorded": 0}


async def test_bad_receipts_are_refused_naming_the_field(patient: Client) -> None:
    now = utc_now().isoformat()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"receipts": [{"reminder": "x", "event": "shown", "at": now}]}, "reminder"),
        ({"receipts": [{"reminder": str(uuid.uuid4()), "event": "seen", "at": now}]}, "event"),
        (
            {
                "receipts": [
                    {"reminder": str(uuid.uuid4()), "event": "shown", "at": "2025-01-01T00:00"}
                ]
            },
            "at",
        ),
        (
            {"receipts": [{"reminder": str(uuid.uuid4()), "event": "shown", "at": now, "mood": 3}]},
            "mood",
        ),
    ]
    for body, field in cases:
        response = await patient.post("/api/v1/push/receipts", json=body)
        assert response.status_code in (400, 422), body
        assert field in response.json()["field"], (body, response.json())
    too_many = {"receipts": [{"reminder": str(uuid.uuid4()), "event": "shown", "at": now}] * 101}
    response = await patient.post("/api/v1/push/receipts", json=too_many)
    assert response.status_code == 400 and response.json()["field"] == "receipts"


async def test_a_device_delivered_but_never_shown_for_a_week_gets_a_hint(
    pool: db.Pool,
    patient: Client,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    reminder, device = await _delivered_reminder(pool, patient, push_service, make_dispatcher)
    eight_days_ago = (utc_now() - timedelta(days=8)).isoformat()
    shown = {"reminder": str(reminder), "event": "shown", "at": eight_days_ago}
    await patient.post(
        "/api/v1/push/receipts", json={"receipts": [{**shown, "device": str(device)}]}
    )
    # It reports "shown" (its last one 8 days ago); reminders delivered since were never shown.
    [report] = (await patient.get("/api/v1/push/devices")).json()
    assert report["check_settings"] is True and report["shown"] == 1


async def test_the_clinician_summary_counts_what_reached_the_patient(
    pool: db.Pool,
    patient: Client,
    clinician: Client,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    reminder, device = await _delivered_reminder(pool, patient, push_service, make_dispatcher)
    page = f"/clinician/patients/{patient.me['id']}"  # type: ignore[attr-defined]
    await share(patient, clinician)
    before = (await clinician.get(page)).text
    assert "1 reminder delivered, 0 reported shown, 0 opened" in before
    assert "without showing one" not in before  # never reported "shown": not judged

    long_ago = (utc_now() - timedelta(days=8)).isoformat()
    receipts = [
        {"reminder": str(reminder), "event": "shown", "at": long_ago, "device": str(device)},
        {"reminder": str(reminder), "event": "opened", "at": long_ago, "device": str(device)},
    ]
    await patient.post("/api/v1/push/receipts", json={"receipts": receipts})
    after = (await clinician.get(page)).text
    assert "1 device</strong> received reminders for 7 days without showing one" in after


async def test_old_receipts_are_pruned_but_each_devices_last_shown_is_kept(
    pool: db.Pool, people: People, push_service: PushService, settings: Settings
) -> None:
    patient = await people.user()
    await people.device(patient, push_service)
    async with db.transaction(pool) as conn:
        device = await conn.fetchval(
            "SELECT id FROM push_subscriptions WHERE user_id = $1", patient
        )
        for days, event in ((60, "shown"), (50, "opened"), (40, "shown"), (1, "opened")):
            await conn.execute(
                """INSERT INTO reminder_receipts (user_id, reminder_id, subscription_id, event,
                                                  happened_at)
                   VALUES ($1, $2, $3, $4, now() - make_interval(days => $5))""",
                patient,
                uuid.uuid4(),
                device,
                event,
                days,
            )
    await Mailer(pool, settings).prune()
    async with db.connection(pool) as conn:
        left = await conn.fetch(
            """SELECT event, round(extract(epoch FROM now() - happened_at) / 86400) AS days
                 FROM reminder_receipts WHERE user_id = $1 ORDER BY happened_at""",
            patient,
        )
    assert [(r["event"], int(r["days"])) for r in left] == [("shown", 40), ("opened", 1)]
