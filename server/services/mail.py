"""Email: queuing a message in the transaction that causes it, writing it (and minting its
link) when the worker sends it, the mail settings, and what /dev/mail shows.

A request never waits on an SMTP server: it writes a row of the mail outbox, and the worker
(server/push/mailer.py) sends it. Messages say nothing about health (server/domain/mail.py).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from server.config import ConfigError, Settings
from server.db import Connection, Pool, connection, transaction
from server.domain.mail import KINDS, Kind, Letter, health_words, letter
from server.services import companions
from server.services.sessions import token_hash
from server.store import account_tokens, clinic_invitations
from server.store import mail as mail_store
from server.store.mail import ClaimedMail, KeptMail

DEV_SENDER = "afterglow@localhost"  # AFTERGLOW_MAIL_FROM where none is set, outside production


def check_mail_settings(settings: Settings) -> None:
    """Refuse to start with mail that could not go out in production, or a sender name that
    says what the app is for (every email shows it)."""
    if settings.env == "production":
        missing = [
            name
            for name, value in (
                ("AFTERGLOW_SMTP_URL", settings.smtp_url),
                ("AFTERGLOW_MAIL_FROM", settings.mail_from),
            )
            if not value
        ]
        if missing:
            raise ConfigError(f"{' and '.join(missing)} must be set when AFTERGLOW_ENV=production")
    found = health_words(settings.mail_display_name)
    if found:
        raise ConfigError(
            f"AFTERGLOW_MAIL_DISPLAY_NAME must not mention health ({', '.join(found)}): every "
            "email shows it, on lock screens and in shared inboxes"
        )


def sender_address(settings: Settings) -> str:
    return settings.mail_from or DEV_SENDER


async def queue(conn: Connection, email: str, kind: Kind) -> None:
    """A message of ``kind`` for the account with address ``email``, in the caller's
    transaction; nothing (and no sign of it) when no account has that address."""
    what = KINDS[kind]
    await mail_store.queue(
        conn,
        email=email,
        kind=kind,
        stale_after=what.stale_after,
        at_most_every=what.at_most_every,
    )


async def write(pool: Pool, settings: Settings, mail: ClaimedMail, now: datetime) -> Letter:
    """The message for a claimed row, as it is about to be sent. A link's token is made here:
    256 random bits, only their hash stored, so the token in clear exists in this process's
    memory and in the email, nowhere else."""
    if mail.kind == "companion_request":  # a driver's, not an account's (issue 16)
        return await companions.write_letter(pool, settings, mail, now)
    what = KINDS[mail.kind]  # KeyError for a kind this version does not know
    token = None
    if what.link == "invitation":
        # Whoever is invited has no account yet: the token is the invitation's (migrations/0023).
        token = secrets.token_urlsafe(32)
        async with transaction(pool) as conn:
            if await clinic_invitations.mint(conn, mail.recipient, token_hash(token)) is None:
                raise LookupError("the invitation was withdrawn or used")
    elif what.link is not None and what.link_lifetime is not None and mail.user_id is not None:
        token = secrets.token_urlsafe(32)
        async with transaction(pool) as conn:
            await account_tokens.mint(
                conn,
                token_hash=token_hash(token),
                user_id=mail.user_id,
                purpose=what.link,
                expires_at=now + what.link_lifetime,
            )
    return letter(
        what.name,
        sender=settings.mail_display_name,
        base_url=settings.public_url,
        token=token,
        language=mail.language,
    )


async def kept(pool: Pool, limit: int = 50) -> list[KeptMail]:
    """The newest messages kept instead of sent (no SMTP server configured)."""
    async with connection(pool) as conn:
        return await mail_store.kept(conn, limit)
