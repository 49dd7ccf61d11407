"""Accounts: who a user is, and the rules for the values they choose."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import msgspec

from server.errors import InvalidField
from server.i18n import Language, known

Role = Literal["patient", "clinician"]

PASSWORD_MIN = 10
PASSWORD_MAX = 256
_ZONES = frozenset(available_timezones())


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    email: str
    role: Role
    display_name: str
    timezone: str
    clinic_phone: str | None = None
    created_at: datetime
    language: Language = "en"  # what they read Afterglow in (pages, reminders, emails)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SessionState(msgspec.Struct, frozen=True, kw_only=True):
    """A live session as a request finds it: whose it is, and how it stands."""

    user: User
    second_factor: bool  # the account has one
    second_factor_pending: bool  # signed in with the password, the second factor still to come
    reauthenticated_at: datetime  # when its owner last proved who they are


class Access(msgspec.Struct, frozen=True):
    """Proof that ``viewer`` passed the access check for ``patient_id``'s data
    (server/services/access.py). Every store function of patient data takes one."""

    patient_id: UUID
    viewer: User
    as_: Literal["self", "clinician"]
    # A clinician's way in: their roles (a share of their own counts as the prescriber's) and,
    # under a team share, the clinic (the access log names both).
    roles: tuple[str, ...] = ()
    clinic_id: UUID | None = None
    clinic_name: str | None = None

    @property
    def by_clinician(self) -> bool:
        return self.as_ == "clinician"


def check_password(password: str, field: str = "password") -> None:
    """Length is the only rule (NIST SP 800-63B): any characters, 10 to 256 of them."""
    if len(password) < PASSWORD_MIN:
        raise InvalidField(field, f"Use at least {PASSWORD_MIN} characters.")
    if len(password) > PASSWORD_MAX:
        raise InvalidField(field, f"Use at most {PASSWORD_MAX} characters.")


class UnknownLanguage(InvalidField):
    """A language Afterglow does not speak (issue 18 asks for 422 here, whatever the type)."""

    status = 422


def check_language(value: object, field: str = "language") -> Language:
    """One of the languages Afterglow speaks (``en``, ``es``), exactly as written."""
    language = known(value) if isinstance(value, str) else None
    if language is None:
        raise UnknownLanguage(field, "Choose en (English) or es (Spanish).")
    return language


def check_timezone(name: str, field: str = "timezone") -> str:
    if name not in _ZONES:
        raise InvalidField(field, "Not an IANA time zone name (for example Europe/Berlin).")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidField(field, "Not an IANA time zone name.") from None
    return name


# Joiners that some scripts (Persian, the Indic scripts) and emoji sequences need to be spelled
# right; every other invisible character is dropped from a name.
_JOINERS = frozenset("\u200c\u200d")


def _invisible(ch: str) -> bool:
    """A control or format character (bidi overrides, zero-width spaces, ...): unassigned
    and private-use code points too, as no one can see what they are."""
    return unicodedata.category(ch)[0] == "C"


def check_display_name(name: str, field: str = "display_name") -> str:
    """The name as others see it: without invisible characters (a right-to-left override
    would show it reversed, a zero-width space would make a lookalike) and with single spaces."""
    visible = "".join(ch for ch in name if ch.isspace() or ch in _JOINERS or not _invisible(ch))
    cleaned = " ".join(visible.split())
    if not cleaned:
        raise InvalidField(field, "Enter a name.")
    return cleaned


def fold_email(email: str) -> str:
    """The form an address is kept and looked up in: compatibility characters as their plain
    letters (NFKC: fullwidth ｐａｔ@ｅｘａｍｐｌｅ.ｏｒｇ is pat@example.org). Case is
    folded by the store's index on lower(email)."""
    return unicodedata.normalize("NFKC", email).strip()


def normalise_email(email: str, field: str = "email") -> str:
    cleaned = fold_email(email)
    if any(_invisible(ch) for ch in cleaned):
        raise InvalidField(field, "The address contains invisible characters.")
    local, at, domain = cleaned.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in cleaned):
        raise InvalidField(field, "Enter an email address like name@example.com.")
    return cleaned
