"""The whole safety loop with real processes: an app, two reminder workers, the local push
service and a real SMTP server. A patient shares and answers PHQ-9 item 9 = 1; the clinician's
subscribed device gets one push and their mailbox one neutral email, the alert is listed and
acknowledged (the patient's access log shows it), and the on-call address gets the escalation
exactly once although both workers run every pass."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from server import security
from server.services.alerts import ESCALATE_EVERY
from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.live_server import LiveServer, create_clinician, signed_in_patient
from tests.helpers.mail_server import MailServer, assert_neutral, link_in
from tests.helpers.push_service import PushService

pytestmark = pytest.mark.slow


async def _wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _signed_in_clinician(base_url: str, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base_url, timeout=10)
    await client.get("/healthz")
    client.headers[security.CSRF_HEADER] = client.cookies[security.CSRF_COOKIE]
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client


async def test_an_alert_reaches_its_clinician_once_and_escalates_once_with_two_workers(
    fresh_database: str, tmp_path: Path, workers: Any
) -> None:
    on_call = unique_email("on-call")
    with PushService.in_thread() as service, MailServer.running() as mail:
        app = LiveServer(
            fresh_database,
            tmp_path,
            env={
                "AFTERGLOW_SMTP_URL": mail.url,
                "AFTERGLOW_CLINIC_ALERT_EMAIL": on_call,
                "AFTERGLOW_ALERT_ESCALATE_MINUTES": "0",  # nobody can acknowledge in time
            },
        )
        await asyncio.to_thread(app.start)
        group = workers(app.env)
        clients: list[httpx.AsyncClient] = []
        try:
            email = unique_email("clinician")
            await create_clinician(fresh_database, email, PASSWORD, "Dr. Loop")
            clinician = await _signed_in_clinician(app.url, email)
            patient = await signed_in_patient(app.url, unique_email("loop"), PASSWORD)
            clients += [clinician, patient]
            device = service.subscribe()
            added = await clinician.post("/api/v1/push/subscriptions", json=device.as_json())
            assert added.status_code == 201, added.text
            code = (await patient.post("/api/v1/shares")).json()["code"]
            assert (
                await clinician.post("/api/v1/shares/accept", json={"code": code})
            ).status_code == 200
            group.start()
            group.start()

            answered = await patient.put(
                f"/api/v1/assessments/{uuid.uuid4()}",
                json={
                    "instrument": "phq9",
                    "answers": [1, 1, 1, 1, 1, 1, 1, 1, 1],
                    "taken_at": datetime.now(UTC).isoformat(),
                },
            )
            assert answered.status_code == 201, answered.text
            assert answered.json()["safety"]["resources"]  # the patient is helped at once

            await _wait_for(lambda: service.delivered_to(device), 30, "the push")
            await _wait_for(lambda: mail.to(email), 30, "the clinician's email")
            await _wait_for(lambda: mail.to(on_call), ESCALATE_EVERY + 30, "the escalation")
            await asyncio.sleep(ESCALATE_EVERY + 2)  # both workers pass again: nothing new

            [push] = service.delivered_to(device)
            assert push.json()["url"] == "/clinician" and "patient" in push.json()["body"]
            [letter] = mail.to(email)
            [escalation] = mail.to(on_call)
            for message in (letter, escalation):
                assert_neutral(message)
                assert link_in(message) == f"{app.url}/clinician"
            assert all(p.poll() is None for p in group.processes)

            [alert] = (await clinician.get("/api/v1/clinician/alerts")).json()
            assert alert["kind"] == "item9"
            done = await clinician.post(f"/api/v1/clinician/alerts/{alert['id']}/acknowledge")
            assert done.status_code == 200, done.text
            log = (await patient.get("/api/v1/me/access-log")).json()["items"]
            [seen] = [e for e in log if e["action"] == "alert_acknowledge"]
            assert seen["actor"]["name"] == "Dr. Loop"
        finally:
            for client in clients:
                await client.aclose()
            group.stop_all()
            await asyncio.to_thread(app.stop)
