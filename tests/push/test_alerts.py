"""An alert reaches a person: the clinician's subscribed device gets one push and their mailbox
one neutral email within one worker cycle (the dispatcher and the mail sender against the local
push service and a real SMTP server); an alert nobody acknowledged in time is mailed to the
clinic's on-call address once, however many passes and workers look at it.

The alerts are raised at today's times, so the dispatcher runs on the real clock; every row it
finds due is someone's, and the assertions count only what reached this test's devices and
mailboxes.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import msgspec

from server import db
from server.config import Settings
from server.push.dispatcher import Dispatcher
from server.push.vapid import VapidKeys
from server.services import alerts
from server.timeutil import utc_now
from tests.helpers.accounts import make_clinician, register, unique_email
from tests.helpers.mail_server import MailServer, assert_neutral, deliver, link_in, text_of
from tests.helpers.push_service import PushService, Subscription
from tests.helpers.sharing import days_ago, log_assessment, share
from tests.helpers.traces import columns_mentioning

NEUTRAL_PUSH = {
    "title": "Afterglow",
    "body": "A patient who shares with you needs your attention. Open Afterglow to see it.",
    "url": "/clinician",
    "tag": "patient-attention",
}


async def subscribe(client: Any, service: PushService) -> Subscription:
    device = service.subscribe()
    added = await client.post("/api/v1/push/subscriptions", json=device.as_json())
    assert added.status_code == 201, added.text
    return device


async def worker_cycle(
    pool: db.Pool,
    settings: Settings,
    vapid: VapidKeys,
    session: aiohttp.ClientSession,
    mail_server: MailServer,
) -> None:
    """What one round of the worker does for alerts: send due pushes, send queued mail,
    escalate (server/push/worker.py)."""
    await Dispatcher(pool, vapid, session, jitter=lambda: 0.0, timeout=5).run_until_idle()
    await alerts.escalation_pass(pool, settings)
    await deliver(pool, settings, mail_server)


async def test_an_item9_answer_reaches_the_clinician_by_push_and_email_once(
    patient: Any,
    clinician: Any,
    pool: db.Pool,
    settings: Settings,
    vapid: VapidKeys,
    http_session: aiohttp.ClientSession,
    push_service: PushService,
    mail_server: MailServer,
) -> None:
    await share(patient, clinician)
    device = await subscribe(clinician, push_service)
    await log_assessment(patient, days_ago(0), "phq9", 14, item9=1)
    await log_assessment(patient, days_ago(0), "phq9", 16, item9=2)  # the same event

    await worker_cycle(pool, settings, vapid, http_session, mail_server)

    [push] = push_service.delivered_to(device)
    assert push.json() == NEUTRAL_PUSH and push.urgency == "high"
    [email] = mail_server.to(clinician.me["email"])
    assert_neutral(email)
    assert "A patient who shares with you on Afterglow needs your attention." in text_of(email)
    assert link_in(email) == f"{settings.public_url}/clinician"
    for text in (str(email["Subject"]), text_of(email), push.payload.decode()):
        assert "Test Patient" not in text and patient.me["email"] not in text
    [alert] = (await clinician.get("/api/v1/clinician/alerts")).json()
    assert alert["kind"] == "item9"

    await worker_cycle(pool, settings, vapid, http_session, mail_server)  # nothing twice
    assert len(push_service.delivered_to(device)) == 1
    assert len(mail_server.to(clinician.me["email"])) == 1


async def test_an_alert_nobody_acknowledged_in_time_is_escalated_once(
    patient: Any,
    clinician: Any,
    client_factory: Any,
    pool: db.Pool,
    settings: Settings,
    mail_server: MailServer,
) -> None:
    on_call = unique_email("on-call")
    clinic = msgspec.structs.replace(settings, clinic_alert_email=on_call)
    colleague = client_factory()
    colleague.me = await make_clinician(pool, colleague, "Dr. Colleague")
    await share(patient, clinician)
    await share(patient, colleague)
    await log_assessment(patient, days_ago(0), "phq9", 14, item9=1)
    # Another patient's alert, which one of their clinicians acknowledged (late, but before
    # the pass): nothing to escalate.
    seen = client_factory()
    seen.me = await register(seen)
    await share(seen, clinician)
    await share(seen, colleague)
    await log_assessment(seen, days_ago(0), "phq9", 14, item9=1)
    listed = (await colleague.get("/api/v1/clinician/alerts")).json()
    [theirs] = [a for a in listed if a["patient_id"] == seen.me["id"]]
    acknowledged = await colleague.post(f"/api/v1/clinician/alerts/{theirs['id']}/acknowledge")
    assert acknowledged.status_code == 200

    assert await alerts.escalation_pass(pool, clinic) == 0  # not yet due
    await _age(pool, [patient.me["id"], seen.me["id"]], clinic.alert_escalate_minutes + 1)

    # Two workers at once, then again: one email for the event, whatever looks at it.
    passes = await asyncio.gather(*(alerts.escalation_pass(pool, clinic) for _ in range(2)))
    assert sum(passes) == 1
    assert await alerts.escalation_pass(pool, clinic) == 0
    await deliver(pool, clinic, mail_server)
    [email] = mail_server.to(on_call)
    assert_neutral(email)
    assert "has not been acknowledged" in str(email["Subject"])
    assert link_in(email) == f"{settings.public_url}/clinician"
    assert "Test Patient" not in text_of(email) and patient.me["email"] not in text_of(email)

    # A recipient who shares later the same day gets the event's alert; it is not escalated
    # again, and acknowledging now changes nothing for the on-call address.
    late = client_factory()
    late.me = await make_clinician(pool, late, "Dr. Late")
    await share(patient, late)
    await log_assessment(patient, days_ago(0), "phq9", 15, item9=1)
    assert len((await late.get("/api/v1/clinician/alerts")).json()) == 1
    await _age(pool, [patient.me["id"]], clinic.alert_escalate_minutes + 1)
    assert await alerts.escalation_pass(pool, clinic) == 0
    await deliver(pool, clinic, mail_server)
    assert len(mail_server.to(on_call)) == 1

    # Without an on-call address there is nothing to escalate to.
    assert await alerts.escalation_pass(pool, settings) == 0


async def test_erasure_leaves_no_trace_in_the_outboxes(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    await share(patient, clinician)
    await log_assessment(patient, days_ago(0), "phq9", 14, item9=1)
    assert (await patient.delete("/api/v1/me")).status_code == 204
    assert await columns_mentioning(pool, patient.me["id"]) == []


async def _age(pool: db.Pool, patient_ids: list[str], minutes: int) -> None:
    """Time passes for these patients' alerts: they were raised ``minutes`` earlier."""
    async with db.transaction(pool) as conn:
        await conn.execute(
            """UPDATE alerts SET raised_at = $2::timestamptz - make_interval(mins => $3)
                WHERE patient_id = ANY($1::uuid[])""",
            [uuid.UUID(p) for p in patient_ids],
            utc_now(),
            minutes,
        )
