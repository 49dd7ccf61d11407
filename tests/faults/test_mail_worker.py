"""A reminder worker killed while an SMTP server holds its message: the message stays in the
outbox, another worker sends it once the lease has run out, and it arrives exactly once (with a
link that works), and no log line holds the address or the link."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.live_server import LiveServer, signed_in_patient
from tests.helpers.mail_server import MailServer, assert_neutral, token_in

pytestmark = pytest.mark.slow


async def _wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_killed_worker_s_mail_is_sent_once_after_the_lease(
    fresh_database: str, tmp_path: Path, workers: Any
) -> None:
    with MailServer.running() as mail:
        app = LiveServer(
            fresh_database,
            tmp_path,
            env={"AFTERGLOW_SMTP_URL": mail.url, "AFTERGLOW_LOG_LEVEL": "DEBUG"},
        )
        await asyncio.to_thread(app.start)
        group = workers(app.env)
        try:
            email = unique_email("killed")
            client = await signed_in_patient(app.url, email, PASSWORD)
            asked = await client.post("/api/v1/auth/password-reset", json={"email": email})
            assert asked.status_code == 202
            await client.aclose()

            mail.stall()  # the worker will hang mid-send, its message not yet accepted
            doomed = group.start()
            await _wait_for(lambda: mail.stalled_requests > 0, 30, "the worker to send")
            doomed.send_signal(signal.SIGKILL)
            doomed.wait()
            killed_at = time.monotonic()
            mail.release()
            await asyncio.sleep(0.5)
            assert mail.to(email) == []

            conn = await asyncpg.connect(fresh_database)
            try:
                status = await conn.fetchval(
                    "SELECT status FROM mail_outbox WHERE kind = 'password_reset'"
                )
            finally:
                await conn.close()
            assert status == "pending"  # survived the crash

            group.start()
            await _wait_for(lambda: len(mail.to(email)) >= 1, 60, "the mail to be sent again")
            await asyncio.sleep(1.5)  # anything sent twice would arrive now
            [message] = mail.to(email)
            assert_neutral(message)
            assert time.monotonic() - killed_at >= 1  # only after the lease ran out

            async with httpx.AsyncClient(base_url=app.url, timeout=10) as browser:
                await browser.get("/healthz")
                browser.headers["X-CSRF-Token"] = browser.cookies["csrftoken"]
                reset = await browser.post(
                    "/api/v1/auth/password-reset/confirm",
                    json={"token": token_in(message), "password": "a new passphrase here"},
                )
            assert reset.status_code == 204

            conn = await asyncpg.connect(fresh_database)
            try:
                rows = await conn.fetch("SELECT kind, status, attempts FROM mail_outbox")
            finally:
                await conn.close()
            reset_row = next(r for r in rows if r["kind"] == "password_reset")
            assert (reset_row["status"], reset_row["attempts"]) == ("sent", 2)
            # Neither the address nor the link reached a log line, at DEBUG, app or worker.
            logs = app.logs() + (tmp_path / "workers.log").read_text(errors="replace")
            assert email not in logs and token_in(message) not in logs
        finally:
            group.stop_all()
            await asyncio.to_thread(app.stop)
