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

from server.i18n import DEFAULT, N_, gettext

Kind = Literal[
    "password_reset",
    "password_changed",
    "verify_email",
    "registration_attempt",
    "sign_in_link",
    "alert",
    "alert_escalation",
    "reminder_checkin",
    "reminder_questionnaire",
    "reminder_session_tomorrow",
    "reminder_session_soon",
    "reminder_home_safely",
    "member_invitation",
    "clinic_request",
]
LinkPurpose = Literal["password_reset", "verify_email", "sign_in", "invitation"]

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
    # The same in Spanish (issue 18): a Spanish-speaking patient's mail keeps the rule too.
    "ketamina",
    "depresi",
    "ánimo",
    "puntuaci",
    "psiquiatr",
    "terapi",
    "disociaci",
    "síntoma",
    "efecto secundario",
    "efectos secundarios",
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
        # To someone a clinic's admin invites (no account yet): the token is the invitation's
        # (server/services/team.py), minted as the message is written.
        MailKind(
            name="member_invitation",
            stale_after=timedelta(days=7),
            link="invitation",
            link_lifetime=timedelta(days=7),
        ),
        MailKind(name="clinic_request", stale_after=timedelta(hours=24)),
        # Email reminders (server/domain/fallback.py): queued by the worker with a stale time
        # of their own (the reminder's, never inside quiet hours); stale_after is an upper bound.
        MailKind(name="reminder_checkin", stale_after=timedelta(hours=3)),
        MailKind(name="reminder_questionnaire", stale_after=timedelta(hours=3)),
        MailKind(name="reminder_session_tomorrow", stale_after=timedelta(hours=6)),
        MailKind(name="reminder_session_soon", stale_after=timedelta(hours=2)),
        MailKind(name="reminder_home_safely", stale_after=timedelta(hours=8)),
    )
}


class Letter(msgspec.Struct, frozen=True):
    subject: str
    body: str


# A link's token is random letters: one in a few hundred contains "phq" or "mood" by chance.
_TOKEN = re.compile(r"#token=[A-Za-z0-9_-]+")


def without_tokens(text: str) -> str:
    """``text`` with each link's random token left out (it says nothing)."""
    return _TOKEN.sub("#token=", text)


def health_words(text: str) -> list[str]:
    """The words of HEALTH_WORDS found in ``text``, as written there (not inside a link's
    random token)."""
    return _HEALTH.findall(without_tokens(text))


def link(base_url: str, page: str, token: str) -> str:
    """A link to one of our pages with its token after ``#``: a fragment never reaches a server,
    so the token stays out of access logs and proxies on its way back."""
    return f"{base_url}/{page}#token={token}"


# Each kind's subject and paragraphs, filled in with ``sender``, ``base_url``, ``link`` (the
# token's link, to the page of _LINK_PAGES) and the link's lifetime in ``minutes`` or ``hours``.
_WORDS: dict[Kind, tuple[str, tuple[str, ...]]] = {
    "password_reset": (
        N_("Choose a new {sender} password"),
        (
            N_(
                "Someone asked to choose a new password for the account with this email "
                "address. To choose one, open this link within {minutes} minutes:"
            ),
            "{link}",
            N_(
                "The link works once. If you did not ask for it, ignore this message: your "
                "password stays as it is."
            ),
        ),
    ),
    "password_changed": (
        N_("Your {sender} password was changed"),
        (
            N_(
                "The password of your account was just changed, and every device that was "
                "signed in was signed out."
            ),
            N_("If it was you, there is nothing more to do. If not, choose a new password now:"),
            "{base_url}/forgot",
        ),
    ),
    "verify_email": (
        N_("Confirm your email address for {sender}"),
        (
            N_(
                "To finish setting up your account, confirm this email address by opening "
                "this link within {hours} hours:"
            ),
            "{link}",
            N_("If you did not create an account, ignore this message."),
        ),
    ),
    "sign_in_link": (
        N_("A link to sign in to {sender}"),
        (
            N_(
                "Someone tried to sign in to the account with this email address with a wrong "
                "password many times, so signing in with the password is paused for a while. "
                "To sign in now, open this link within {minutes} minutes:"
            ),
            "{link}",
            N_(
                "The link works once. If it was not you, you may want to choose a new password "
                "at {base_url}/forgot"
            ),
        ),
    ),
    "alert": (
        N_("A patient needs your attention on {sender}"),
        (
            N_(
                "A patient who shares with you on {sender} needs your attention. Sign in to see it:"
            ),
            "{base_url}/clinician",
        ),
    ),
    "alert_escalation": (
        N_("An alert on {sender} has not been acknowledged"),
        (
            N_(
                "A patient on {sender} needs attention, and none of the clinicians they share "
                "with has acknowledged the alert in time. Please make sure one of them sees it. "
                "Clinicians sign in at:"
            ),
            "{base_url}/clinician",
        ),
    ),
    "registration_attempt": (
        N_("Someone tried to sign up for {sender} with your address"),
        (
            N_(
                "Someone tried to create a new account with this email address, which already has "
                "one. Your account is unchanged."
            ),
            N_("If it was you, sign in at {base_url}/login"),
            N_("If you forgot your password, choose a new one at {base_url}/forgot"),
            N_("If it was not you, ignore this message."),
        ),
    ),
}
_REMINDER_FOOT = N_(
    "You get this email because you asked for reminders by email when your phone cannot be "
    "reached. To stop them, turn off email reminders in Settings: {base_url}/settings"
)
_WORDS |= {
    "reminder_checkin": (
        N_("A reminder from {sender}"),
        (
            N_("It is time for your check-in. It takes a few seconds:"),
            "{base_url}/?checkin",
            _REMINDER_FOOT,
        ),
    ),
    "reminder_questionnaire": (
        N_("A reminder from {sender}"),
        (N_("Your weekly questionnaire is ready:"), "{base_url}/?questionnaire", _REMINDER_FOOT),
    ),
    "reminder_session_tomorrow": (
        N_("A reminder from {sender}"),
        (
            N_(
                "Your session is tomorrow. Please arrange a ride home — no driving until the next "
                "day after sleep. Your sessions:"
            ),
            "{base_url}/day-before",
            _REMINDER_FOOT,
        ),
    ),
    "reminder_session_soon": (
        N_("A reminder from {sender}"),
        (
            N_("Your session starts in 2 hours. Remember your ride home. Your sessions:"),
            "{base_url}/?sessions",
            _REMINDER_FOOT,
        ),
    ),
    # The question itself ("did you get home safely?") is asked in the app, not in the email.
    "reminder_home_safely": (
        N_("A reminder from {sender}"),
        (N_("A quick question about yesterday:"), "{base_url}/day-before?home", _REMINDER_FOOT),
    ),
}
_WORDS |= {
    "member_invitation": (
        N_("You are invited to join a care team on {sender}"),
        (
            N_(
                "A clinic invites you to join its care team on {sender}. To choose your password "
                "and join, open this link within {hours} hours:"
            ),
            "{link}",
            N_("The link works once. If you did not expect it, ignore this message."),
        ),
    ),
    "clinic_request": (
        N_("A new request on {sender}"),
        (
            N_("A patient sent the clinic a request on {sender}. Sign in to read it:"),
            "{base_url}/clinic/requests",
        ),
    ),
}
_LINK_PAGES: dict[Kind, str] = {
    "password_reset": "reset",
    "verify_email": "verify",
    "sign_in_link": "login",
    "member_invitation": "clinic/join",
}


def letter(
    kind: Kind, *, sender: str, base_url: str, token: str | None = None, language: str = DEFAULT
) -> Letter:
    """The message of ``kind`` in the recipient's ``language``; ``token`` is the link's, for the
    kinds that carry one."""
    subject, paragraphs = _WORDS[kind]
    subject = gettext(language, subject)
    paragraphs = tuple(gettext(language, p) for p in paragraphs)
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
