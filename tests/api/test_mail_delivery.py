"""How the worker's mail sender deals with an SMTP server: accepted is sent; a 5xx is given up
with the server's answer kept; a 4xx or no server at all is retried later with backoff; a
message whose moment has passed is never sent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec

from server import db
from server.config import Settings
from server.push.mailer import Mailer
from server.timeutil import utc_now
from tests.helpers.accounts import register, unique_email
from tests.helpers.live_server import free_port
from tests.helpers.mail_server import MailServer


async def _reset_asked(client_factory: Any) -> str:
    email = unique_email()
    await register(client_factory(), email=email)
    response = await client_factory().post("/api/v1/auth/password-reset", json={"email": email})
    assert response.status_code == 202
    return email


async def _row(pool: db.Pool, email: str) -> Any:
    async with db.connection(pool) as conn:
        return await conn.fetchrow(
            """SELECT status, attempts, last_error, next_attempt_at, claim_token, body
                 FROM mail_outbox WHERE recipient = $1""",
            email,
        )


def _mailer(pool: db.Pool, settings: Settings, url: str, **kwargs: Any) -> Mailer:
    return Mailer(pool, msgspec.structs.replace(settings, smtp_url=url), timeout=5, **kwargs)


async def test_a_refusal_is_final_and_a_delay_is_retried(
    client_factory: Any, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    refused, delayed = await _reset_asked(client_factory), await _reset_asked(client_factory)
    mailer = _mailer(pool, settings, mail_server.url, jitter=lambda: 0.0)
    try:
        mail_server.refusal = "550 5.1.1 Mailbox unavailable"
        async with db.transaction(pool) as conn:  # one at a time: the other waits its turn
            await conn.execute(
                "UPDATE mail_outbox SET next_attempt_at = now() + interval '1 hour' "
                "WHERE recipient = $1",
                delayed,
            )
        await mailer.run_until_idle()
        row = await _row(pool, refused)
        assert (row["status"], row["attempts"]) == ("failed", 1)
        assert row["last_error"].startswith("550")

        mail_server.refusal = "451 4.3.0 Try again later"
        async with db.transaction(pool) as conn:
            await conn.execute(
                "UPDATE mail_outbox SET next_attempt_at = now() WHERE recipient = $1", delayed
            )
        await mailer.run_until_idle()
        row = await _row(pool, delayed)
        assert (row["status"], row["attempts"], row["claim_token"]) == ("pending", 1, None)
        assert row["last_error"].startswith("451")
        assert row["next_attempt_at"] >= utc_now() + timedelta(seconds=25)  # backoff from 30 s
    finally:
        mail_server.refusal = None
    await mailer.run_until_idle(row["next_attempt_at"])
    assert (await _row(pool, delayed))["status"] == "sent"
    assert len(mail_server.to(delayed)) == 1 and mail_server.to(refused) == []


async def test_no_server_is_retried_and_a_stale_message_is_never_sent(
    client_factory: Any, pool: db.Pool, settings: Settings, mail_server: MailServer
) -> None:
    email = await _reset_asked(client_factory)
    nobody = _mailer(pool, settings, f"smtp://127.0.0.1:{free_port()}", jitter=lambda: 0.0)
    await nobody.run_until_idle()
    row = await _row(pool, email)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["next_attempt_at"] > utc_now()

    # 31 minutes on, a reset link would be out of date: the message is dropped, not sent late.
    too_late = utc_now() + timedelta(minutes=31)
    await _mailer(pool, settings, mail_server.url).run_until_idle(too_late)
    assert (await _row(pool, email))["status"] == "expired"
    assert mail_server.to(email) == []
