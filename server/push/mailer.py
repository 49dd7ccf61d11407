"""The mail sender: claims due rows of the mail outbox, writes each message, sends it through the
one configured SMTP server (aiosmtplib), and records what happened.

It works like the push dispatcher (server/push/dispatcher.py): any number of senders can run; a
claim takes rows with FOR UPDATE SKIP LOCKED and leases them, so a sender that dies mid-send
leaves its rows to another once the lease ends, and no send starts after 80% of the lease. Each
message is recorded as soon as the server has answered, so a crash can repeat at most the one
message in flight, and only if the server accepted it without our hearing so (SMTP offers no
better); its Message-ID is the same on every try, so a receiving system can tell.

Outcomes: accepted, sent; refused with a 5xx (an unknown recipient, a refused message), failed,
with the server's answer kept for operators; a 4xx, a timeout or connection trouble, retried with
exponential backoff until the message is stale. Without an SMTP server (``AFTERGLOW_SMTP_URL``
unset, development only) each message is written and kept in the outbox for /dev/mail.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Final
from urllib.parse import unquote, urlsplit

import aiosmtplib
import msgspec

from server.config import Settings
from server.db import Pool, transaction
from server.domain.mail import Letter
from server.errors import DB_UNAVAILABLE
from server.push.tally import Tally
from server.push.webpush import backoff
from server.services import mail as mail_service
from server.services import reminders
from server.store import account_tokens, outbox, receipts
from server.store import mail as mail_store
from server.store.mail import ClaimedMail, Outcome
from server.timeutil import utc_now

log = logging.getLogger("afterglow.mail")

DEFAULT_PORTS: Final = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
PRUNE_EVERY: Final = 3600.0
KEEP_HISTORY: Final = timedelta(days=30)


class SmtpServer(msgspec.Struct, frozen=True, kw_only=True):
    """Where mail goes, from ``AFTERGLOW_SMTP_URL`` (checked by server/config.py). The fields
    are aiosmtplib.SMTP's arguments of the same names."""

    hostname: str
    port: int
    use_tls: bool  # smtps: TLS from the first byte
    start_tls: bool  # smtp+starttls: upgrade first, or send nothing
    username: str | None = None
    password: str | None = None


def smtp_server(url: str) -> SmtpServer:
    parts = urlsplit(url)
    return SmtpServer(
        hostname=parts.hostname or "",
        port=parts.port or DEFAULT_PORTS[parts.scheme],
        use_tls=parts.scheme == "smtps",
        start_tls=parts.scheme == "smtp+starttls",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class MailStats(Tally, kw_only=True):
    claimed: int = 0
    sent: int = 0
    kept: int = 0
    retrying: int = 0
    expired: int = 0
    failed: int = 0

    def count(self, outcome: Outcome) -> None:
        name = "retrying" if outcome.status == "pending" else outcome.status
        setattr(self, name, getattr(self, name) + 1)


class Mailer:
    def __init__(
        self,
        pool: Pool,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        lease: timedelta = timedelta(seconds=120),
        batch_size: int = 20,
        timeout: float = 30.0,
        jitter: Callable[[], float] = lambda: random.uniform(0.0, 0.2),
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.server = smtp_server(settings.smtp_url) if settings.smtp_url else None
        self.sender = mail_service.sender_address(settings)
        self.clock = clock
        self.lease = lease
        self.batch_size = batch_size
        self.timeout = timeout
        self.jitter = jitter

    async def run(self, idle: float = 1.0) -> None:
        """Forever: a full batch is followed by the next at once; after a short one, wait
        ``idle`` s. Finished messages and dead links are pruned once an hour. Reminders that
        cannot reach a device are moved to email first, each round (an email reminder is
        queued up to a minute before it is due, before the dispatcher would push it)."""
        pause = idle
        loop = asyncio.get_running_loop()
        pruned_at = -PRUNE_EVERY
        while True:
            try:
                await reminders.email_fallback_pass(self.pool)
                await self.run_until_idle()
                if loop.time() - pruned_at >= PRUNE_EVERY:
                    await self.prune()
                    pruned_at = loop.time()
            except DB_UNAVAILABLE as exc:
                log.warning("mailer: database unavailable (%s); retrying", type(exc).__name__)
                pause = min(pause * 2, 30.0)
                await asyncio.sleep(pause)
                continue
            except Exception:
                log.exception("mailer failed; will retry")
            pause = idle
            await asyncio.sleep(idle)

    async def run_until_idle(self, now: datetime | None = None) -> MailStats:
        """Batches until a claim comes back short of a full one (tests, the worker)."""
        total = MailStats()
        while True:
            stats = await self.run_once(now)
            total.add(stats)
            if stats.claimed < self.batch_size:
                return total

    async def run_once(self, now: datetime | None = None) -> MailStats:
        """Claim one batch, write and send each message, record each outcome."""
        now = now or self.clock()
        token = uuid.uuid4()
        deadline = asyncio.get_running_loop().time() + self.lease.total_seconds() * 0.8
        async with transaction(self.pool) as conn:
            rows = await mail_store.claim_due(
                conn, now, limit=self.batch_size, lease=self.lease, token=token
            )
        stats = MailStats(claimed=len(rows), expired=sum(r.status == "expired" for r in rows))
        due = [row for row in rows if row.status == "pending"]
        if due and self.server is None:
            await self._keep(due, token, now, stats)
        elif due:
            await self._send(due, token, now, deadline, stats)
        return stats

    async def prune(self, now: datetime | None = None) -> int:
        before = (now or self.clock()) - KEEP_HISTORY
        total = 0
        while True:
            async with transaction(self.pool) as conn:
                pruned = await outbox.prune_finished(conn, "mail_outbox", before)
            total += pruned
            if not pruned:
                break
        async with transaction(self.pool) as conn:
            await account_tokens.prune(conn, (now or self.clock()) - timedelta(days=1))
        # Reminder receipts go with the email fallback's pass that this sender runs: kept as
        # long as finished messages, enough for "the last two weeks" and the 7-day hint.
        while True:
            async with transaction(self.pool) as conn:
                if not await receipts.prune(conn, before):
                    break
        return total

    async def _write(
        self, row: ClaimedMail, token: uuid.UUID, now: datetime, stats: MailStats
    ) -> Letter | None:
        """The row's letter; None (and the row failed) when it cannot be written."""
        try:
            return await mail_service.write(self.pool, self.settings, row, now)
        except Exception:
            log.exception("mailer: cannot write a %s message", row.kind)
            await self._record(token, self._failed(row, now, "cannot write"), stats)
            return None

    async def _keep(
        self, rows: list[ClaimedMail], token: uuid.UUID, now: datetime, stats: MailStats
    ) -> None:
        for row in rows:
            letter = await self._write(row, token, now, stats)
            if letter is None:
                continue
            kept = (letter.subject, letter.body)
            await self._record(
                token,
                Outcome(outbox_id=row.id, status="kept", next_attempt_at=now, kept=kept),
                stats,
            )

    async def _send(
        self,
        rows: list[ClaimedMail],
        token: uuid.UUID,
        now: datetime,
        deadline: float,
        stats: MailStats,
    ) -> None:
        assert self.server is not None
        loop = asyncio.get_running_loop()
        smtp = aiosmtplib.SMTP(**msgspec.structs.asdict(self.server), timeout=self.timeout)
        left = list(rows)
        broken = False
        try:
            async with asyncio.timeout(max(0.0, deadline - loop.time())):
                await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            level = (
                logging.ERROR
                if isinstance(exc, aiosmtplib.SMTPAuthenticationError)
                else logging.WARNING
            )
            log.log(level, "mailer: cannot reach the SMTP server (%s)", type(exc).__name__)
            for row in left:
                await self._record(token, self._retry(row, now, type(exc).__name__), stats)
            return
        try:
            while left:
                row = left.pop(0)
                remaining = deadline - loop.time()
                if remaining <= 0:  # after the lease another sender may hold it: not twice
                    left.insert(0, row)
                    break
                letter = await self._write(row, token, now, stats)
                if letter is None:
                    continue
                message = self._message(row, letter.subject, letter.body, now)
                try:
                    async with asyncio.timeout(min(self.timeout, remaining)):
                        await smtp.send_message(message)
                except aiosmtplib.SMTPRecipientsRefused as exc:
                    codes = [r.code for r in exc.recipients]
                    refused = self._failed(row, now, _answer(exc.recipients[0]))
                    retry = self._retry(row, now, _answer(exc.recipients[0]))
                    await self._record(token, refused if min(codes) >= 500 else retry, stats)
                except aiosmtplib.SMTPResponseException as exc:
                    outcome = (
                        self._failed(row, now, _answer(exc))
                        if exc.code >= 500
                        else self._retry(row, now, _answer(exc))
                    )
                    await self._record(token, outcome, stats)
                except (aiosmtplib.SMTPException, OSError) as exc:
                    # The connection is gone or in an unknown state: this one and the rest later.
                    log.warning("mailer: sending failed (%s)", type(exc).__name__)
                    await self._record(token, self._retry(row, now, type(exc).__name__), stats)
                    broken = True
                    break
                else:
                    await self._record(
                        token, Outcome(outbox_id=row.id, status="sent", next_attempt_at=now), stats
                    )
            for row in left:  # not tried in this round: soon again, no backoff earned
                await self._record(
                    token, Outcome(outbox_id=row.id, status="pending", next_attempt_at=now), stats
                )
        finally:
            await _hang_up(smtp, polite=not broken)

    def _message(self, row: ClaimedMail, subject: str, body: str, now: datetime) -> EmailMessage:
        message = EmailMessage()
        message["From"] = formataddr((self.settings.mail_display_name, self.sender))
        message["To"] = row.recipient
        message["Subject"] = subject
        message["Date"] = format_datetime(now)
        domain = self.sender.rpartition("@")[2] or "localhost"
        message["Message-ID"] = f"<mail.{row.id}.{int(row.created_at.timestamp())}@{domain}>"
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        message.set_content(body)
        return message

    def _retry(self, row: ClaimedMail, now: datetime, error: str) -> Outcome:
        later = now + backoff(row.attempts, None, self.jitter())
        status: mail_store.Status = "pending" if later < row.stale_at else "expired"
        return Outcome(outbox_id=row.id, status=status, next_attempt_at=later, error=error)

    def _failed(self, row: ClaimedMail, now: datetime, error: str) -> Outcome:
        # The answer itself may name the recipient: it goes in the outbox row, not the log.
        log.warning("mailer: a %s message was refused (%s)", row.kind, error.split(" ", 1)[0])
        return Outcome(outbox_id=row.id, status="failed", next_attempt_at=now, error=error)

    async def _record(self, token: uuid.UUID, outcome: Outcome, stats: MailStats) -> None:
        stats.count(outcome)
        async with transaction(self.pool) as conn:
            held = await mail_store.record(conn, token, self.clock(), outcome)
        if not held:
            log.warning("mailer: a message's lease ran out before its outcome was recorded")


async def _hang_up(smtp: aiosmtplib.SMTP, *, polite: bool) -> None:
    """QUIT after a conversation that ended well; otherwise, or if QUIT fails, just close."""
    if polite and smtp.is_connected:
        try:
            async with asyncio.timeout(5):
                await smtp.quit()
            return
        except (aiosmtplib.SMTPException, OSError):
            pass
    smtp.close()


def _answer(exc: aiosmtplib.SMTPResponseException) -> str:
    """The server's answer, short: it may name the address, never anything of the message."""
    return f"{exc.code} {exc.message}"[:200]


async def run(pool: Pool, settings: Settings) -> None:
    """The worker's mail sender, until cancelled (server/push/worker.py)."""
    mail_service.check_mail_settings(settings)
    mailer = Mailer(pool, settings, lease=timedelta(seconds=settings.push_lease_seconds))
    await mailer.run()
