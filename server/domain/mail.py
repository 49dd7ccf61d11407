"""What each email says, and the rule every one of them keeps: no health data.

An email is read on a lock screen, in a shared inbox, by whoever manages a work account: it
never mentions a mood, a score, a treatment or a condition. Each is a neutral sentence, a link
and the sender's display name (``AFTERGLOW_MAIL_DISPLAY_NAME``, which keeps the same rule).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

import msgspec

Kind = Literal[
    "password_reset",
    "password_changed",
    "verify_email",
    "registration_attempt",
    "sign_in_link",
    "alert",
    "alert_escalation",
]
LinkPurpose = Literal["password_reset", "verify_email", "sign_in"]

# Words no email may contain, in any case, as part of any word ("depressed", "infusions").
HEALTH_WORDS = (
    "ketamine",
    "depress",
    "infusion",
    "mood",
    "score",
    "phq",
    "gad-7",
    "psychiatr",
    "suicid",
    "therap",
    "dissociat",
    "symptom",
    "side effect",
)
_HEALTH = re.compile("|".join(re.escape(word) for word in HEALTH_WORDS), re.IGNORECASE)


class MailKind(msgspec.Struct, frozen=True, kw_only=True):
    """One kind of message: how long it is worth sending, and the link it carries, if any."""

    name: Kind
    stale_after: timedelta  # not sent at all once this long has passed since it was queued
    at_most_every: timedelta = timedelta(minutes=1)  # to one account
    link: LinkPurpose | None = None
    link_lifetime: timedelta | None = None


RESET_LIFETIME = timedelta(minutes=30)
VERIFY_LIFETIME = timedelta(hours=24)
SIGN_IN_LINK_LIFETIME = timedelta(minutes=30)

KINDS: dict[str, MailKind] = {
    kind.name: kind
    for kind in (
        MailKind(
            name="password_reset",
            stale_after=RESET_LIFETIME,
            link="password_reset",
            link_lifetime=RESET_LIFETIME,
        ),
        MailKind(name="password_changed", stale_after=timedelta(hours=24)),
        MailKind(
            name="verify_email",
            stale_after=VERIFY_LIFETIME,
            at_most_every=timedelta(minutes=10),
            link="verify_email",
            link_lifetime=VERIFY_LIFETIME,
        ),
        MailKind(
            name="registration_attempt",
            stale_after=timedelta(hours=24),
            at_most_every=timedelta(hours=1),
        ),
        # After a lockout (services/lockout.py). Not more often than a link lives: a steady
        # attack mails the owner a fresh link at most every half hour.
        MailKind(
            name="sign_in_link",
            stale_after=SIGN_IN_LINK_LIFETIME,
            at_most_every=SIGN_IN_LINK_LIFETIME,
            link="sign_in",
            link_lifetime=SIGN_IN_LINK_LIFETIME,
        ),
        # To a clinician, queued with the alert itself (afterglow_raise_alert, migrations/0015,
        # which gives it the same day), and to the clinic's on-call address by the escalation
        # pass (server/services/alerts.py).
        MailKind(name="alert", stale_after=timedelta(hours=24)),
        MailKind(name="alert_escalation", stale_after=timedelta(hours=24)),
    )
}


class Letter(msgspec.Struct, frozen=True):
    subject: str
    body: str


def health_words(text: str) -> list[str]:
    """The words of HEALTH_WORDS found in ``text``, as written there."""
    return _HEALTH.findall(text)


def link(base_url: str, page: str, token: str) -> str:
    """A link to one of our pages with its token after ``#``: a fragment never reaches a server,
    so the token stays out of access logs and proxies on its way back."""
    return f"{base_url}/{page}#token={token}"


# Each kind's subject and paragraphs, filled in with ``sender``, ``base_url``, ``link`` (the
# token's link, to the page of _LINK_PAGES) and the link's lifetime in ``minutes`` or ``hours``.
_WORDS: dict[Kind, tuple[str, tuple[str, ...]]] = {
    "password_reset": (
        "Choose a new {sender} password",
        (
            "Someone asked to choose a new password for the account with this email "
            "address. To choose one, open this link within {minutes} minutes:",
            "{link}",
            "The link works once. If you did not ask for it, ignore this message: your "
            "password stays as it is.",
        ),
    ),
    "password_changed": (
        "Your {sender} password was changed",
        (
            "The password of your account was just changed, and every device that was "
            "signed in was signed out.",
            "If it was you, there is nothing more to do. If not, choose a new password now:",
            "{base_url}/forgot",
        ),
    ),
    "verify_email": (
        "Confirm your email address for {sender}",
        (
            "To finish setting up your account, confirm this email address by opening "
            "this link within {hours} hours:",
            "{link}",
            "If you did not create an account, ignore this message.",
        ),
    ),
    "sign_in_link": (
        "A link to sign in to {sender}",
        (
            "Someone tried to sign in to the account with this email address with a wrong "
            "password many times, so signing in with the password is paused for a while. "
            "To sign in now, open this link within {minutes} minutes:",
            "{link}",
            "The link works once. If it was not you, you may want to choose a new password "
            "at {base_url}/forgot",
        ),
    ),
    "alert": (
        "A patient needs your attention on {sender}",
        (
            "A patient who shares with you on {sender} needs your attention. Sign in to see it:",
            "{base_url}/clinician",
        ),
    ),
    "alert_escalation": (
        "An alert on {sender} has not been acknowledged",
        (
            "A patient on {sender} needs attention, and none of the clinicians they share "
            "with has acknowledged the alert in time. Please make sure one of them sees it. "
            "Clinicians sign in at:",
            "{base_url}/clinician",
        ),
    ),
    "registration_attempt": (
        "Someone tried to sign up for {sender} with your address",
        (
            "Someone tried to create a new account with this email address, which already has "
            "one. Your account is unchanged.",
            "If it was you, sign in at {base_url}/login",
            "If you forgot your password, choose a new one at {base_url}/forgot",
            "If it was not you, ignore this message.",
        ),
    ),
}
_LINK_PAGES: dict[Kind, str] = {
    "password_reset": "reset",
    "verify_email": "verify",
    "sign_in_link": "login",
}


def letter(kind: Kind, *, sender: str, base_url: str, token: str | None = None) -> Letter:
    """The message of ``kind``; ``token`` is the link's, for the kinds that carry one."""
    subject, paragraphs = _WORDS[kind]
    fields = {"sender": sender, "base_url": base_url}
    page = _LINK_PAGES.get(kind)
    if page is not None:
        assert token is not None
        lifetime = KINDS[kind].link_lifetime
        assert lifetime is not None
        seconds = int(lifetime.total_seconds())
        fields |= {"link": link(base_url, page, token), "minutes": str(seconds // 60)}
        fields["hours"] = str(seconds // 3600)
    return Letter(
        subject=subject.format(**fields),
        body=_body(*(p.format(**fields) for p in paragraphs), sender=sender),
    )


def _body(*paragraphs: str, sender: str) -> str:
    return "\n\n".join((*paragraphs, f"— {sender}")) + "\n"
