"""Sign-in throttling that cannot be used to lock someone out.

Wrong passwords are counted per (account, address): the owner, signing in from their own
phone, is not slowed down by guesses from anywhere else. From one address, an account gets
five tries, then one more after each wait (1 minute, doubling, at most 30). Against guesses
spread over many addresses, an account has a much higher ceiling (50 an hour); past it,
password sign-in waits for the hour to end, whoever asks, and the account's owner is mailed a
link that signs them in once (it leads to the second factor, as a password does). An address
gets 20 tries every 15 minutes across all accounts (one password sprayed over many).

Every attempt is counted before the password is looked at (services/throttle.py), and taken
back when it succeeds. An email nobody has is counted the same way, so the answers never tell
whether an account exists. Passkeys are not counted: nothing about one can be guessed.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import msgspec

from server.config import Settings
from server.db import Pool, transaction
from server.domain.accounts import User, fold_email
from server.errors import InvalidField
from server.i18n import N_
from server.services import mail, throttle
from server.services.sessions import token_hash
from server.services.throttle import Attempt, Refused, Rule
from server.store import account_tokens, audit
from server.store import users as user_store

PAIR = Rule(
    free=5,
    window=timedelta(days=1),
    first_wait=timedelta(minutes=1),
    longest_wait=timedelta(minutes=30),
)
ACCOUNT = Rule(free=50, window=timedelta(hours=1))
ADDRESS = Rule(free=20, window=timedelta(minutes=15))
TOO_MANY = N_("Too many failed sign-ins.")
LINK_MAILED = N_("If an account has this address, we have emailed it a link to sign in.")
LINK_LIMIT = 20  # dead sign-in links tried per client address in the throttle window
DEAD_LINK = "This sign-in link has expired or has already been used. Sign in again."


class Keys(msgspec.Struct, frozen=True):
    """The throttle's keys for one sign-in: the account as typed, the client's address, and the
    pair of them."""

    account: str
    address: str
    pair: str

    @classmethod
    def of(cls, settings: Settings, email: str, address: str) -> Keys:
        # The account key is keyed with the secret: whatever is typed at the login form (someone
        # else's email, a password in the wrong field) is not kept, nor can it be tested against
        # a stored key by hashing guesses. Folded as it is looked up, so a lookalike spelling
        # counts against the same account.
        typed = fold_email(email).lower().encode()
        digest = hmac.new(
            settings.secret_key.encode(), b"sign-in throttle\0" + typed, hashlib.sha256
        ).hexdigest()
        return cls(
            account="acct:" + digest, address="addr:" + address, pair=f"pair:{digest}@{address}"
        )

    def rules(self) -> dict[str, Rule]:
        return {self.pair: PAIR, self.account: ACCOUNT, self.address: ADDRESS}


class Counted(msgspec.Struct, frozen=True):
    """A sign-in counted before its password is checked."""

    keys: Keys
    attempt: Attempt
    address: str


async def begin(pool: Pool, settings: Settings, *, email: str, address: str) -> Counted:
    """Count a sign-in before its password is checked, or refuse it (429). A refusal goes in the
    account's trail once a window, and one by the account's ceiling mails its owner a sign-in
    link (at most one every half hour)."""
    keys = Keys.of(settings, email, address)
    try:
        attempt = await throttle.attempt(pool, keys.rules(), TOO_MANY)
    except Refused as refused:
        locked = keys.account in refused.keys
        if locked:
            refused.also(LINK_MAILED)
        await _note_refusal(pool, email, keys, address, locked=locked)
        raise
    return Counted(keys=keys, attempt=attempt, address=address)


async def failed(pool: Pool, counted: Counted, user: User | None) -> None:
    """A wrong password (already counted) goes in the account's trail; if it was the one that
    locked the account, its owner is mailed a sign-in link at once."""
    if user is None:  # an unknown email leaves no trace but the keyed counters
        return
    async with transaction(pool) as conn:
        await audit.note_sign_in(conn, user.id, "sign_in_failed", counted.address)
        if counted.keys.account in counted.attempt.at_limit:
            await mail.queue(conn, user.email, "sign_in_link")


async def succeeded(pool: Pool, counted: Counted) -> None:
    """The right password: this (account, address) starts again from nothing, and the attempt
    is taken back from the account's and the address's counts."""
    await throttle.forgive(pool, counted.attempt, forget=[counted.keys.pair])


async def _note_refusal(pool: Pool, email: str, keys: Keys, address: str, *, locked: bool) -> None:
    """A refused sign-in goes in the account's trail once a throttle window: refusals cost an
    attacker nothing, so each one would let them fill it."""
    first = await throttle.first_refusal(pool, keys.account)
    if not (first or locked):
        return
    async with transaction(pool) as conn:
        found = await user_store.credentials_by_email(conn, fold_email(email))
        if found is None:
            return
        user = found[0]
        if first:
            await audit.note_sign_in(conn, user.id, "sign_in_blocked", address)
        if locked:
            await mail.queue(conn, user.email, "sign_in_link")


async def use_link(pool: Pool, *, token: str, address: str) -> tuple[User, str]:
    """The account a sign-in link opens, and its password hash (the link stands in for the
    password), the link used up; dead links tried count against the client's address."""
    by_address = "signin-links:" + address
    await throttle.check(pool, [(by_address, LINK_LIMIT)], N_("Too many tries with old links."))
    async with transaction(pool) as conn:
        found = await account_tokens.use_sign_in_link(conn, token_hash(token))
    if found is None:
        await throttle.failed(pool, (by_address,))
        raise InvalidField("token", DEAD_LINK)
    return found
