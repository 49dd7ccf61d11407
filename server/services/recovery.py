"""Getting into an account through its email: a link to choose a new password, and a link that
confirms the address.

Asking for a reset link gets the same answer, after the same work, whether or not an account
has the address: the request is throttled by what was typed and by who typed it, then one
statement queues the message only if there is an account (migrations/0013). A link's token is
256 random bits made by the worker as it sends the mail; only its hash is stored, it works once,
and a reset link only for 30 minutes.
"""

from __future__ import annotations

import hashlib
import hmac

from server.config import Settings
from server.db import Pool, transaction
from server.domain.accounts import check_password, fold_email, normalise_email
from server.domain.mail import KINDS, LinkPurpose
from server.errors import InvalidField
from server.services import mail, passwords, throttle
from server.services.sessions import token_hash
from server.store import account_tokens

TYPED_LIMIT = 5  # reset links asked for one typed address per throttle window (15 minutes)
ADDRESS_LIMIT = 20  # reset links asked for, and dead links tried, per client address
DEAD_LINK = "This link has expired or has already been used. Ask for a new one."


def _typed_key(settings: Settings, email: str) -> str:
    # Keyed with the secret, so no address typed at the form is kept in a form that can be
    # tested by hashing guesses.
    typed = fold_email(email).lower().encode()
    digest = hmac.new(settings.secret_key.encode(), b"reset throttle\0" + typed, hashlib.sha256)
    return "reset:" + digest.hexdigest()


def _address_key(address: str) -> str:
    return "links:" + address


async def request_password_reset(
    pool: Pool, settings: Settings, *, email: str, address: str
) -> None:
    """Mail a reset link to the account with this address, if there is one."""
    email = normalise_email(email)
    typed, by_address = _typed_key(settings, email), _address_key(address)
    await throttle.check(
        pool,
        [(typed, TYPED_LIMIT), (by_address, ADDRESS_LIMIT)],
        "Too many requests for a new password.",
    )
    await throttle.failed(pool, (typed, by_address))  # every request counts
    async with transaction(pool) as conn:
        await mail.queue(conn, email, "password_reset")


async def reset_password(pool: Pool, *, token: str, password: str, address: str) -> None:
    """A new password through a reset link: every session of the account ends, the reset goes in
    its audit trail, and a notice is mailed (all in one statement: afterglow_reset_password)."""
    check_password(password)
    digest = await _live_link(pool, token, address, "password_reset")
    password_hash = await passwords.hash_password(password)
    async with transaction(pool) as conn:
        account = await account_tokens.reset_password(
            conn,
            digest,
            password_hash,
            address=address,
            notice_stale_after=KINDS["password_changed"].stale_after,
        )
    if account is None:  # used meanwhile (another tab), or it expired while hashing
        raise InvalidField("token", DEAD_LINK)


async def verify_email(pool: Pool, *, token: str, address: str) -> None:
    """Confirm an account's address through the link mailed to it."""
    digest = await _live_link(pool, token, address, "verify_email")
    async with transaction(pool) as conn:
        account = await account_tokens.verify_email(conn, digest)
    if account is None:
        raise InvalidField("token", DEAD_LINK)


async def _live_link(pool: Pool, token: str, address: str, purpose: LinkPurpose) -> bytes:
    """The hash of a token that can still be used, before any costly work; dead links tried
    count against the client's address."""
    by_address = _address_key(address)
    await throttle.check(pool, [(by_address, ADDRESS_LIMIT)], "Too many tries with old links.")
    digest = token_hash(token)
    async with transaction(pool) as conn:
        live = await account_tokens.is_live(conn, digest, purpose)
    if not live:
        await throttle.failed(pool, (by_address,))
        raise InvalidField("token", DEAD_LINK)
    return digest
