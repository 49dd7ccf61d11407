"""Share codes and shares: what a patient hands to their clinician, and what it grants.

A code is 10 characters of Crockford's base32 (50 bits), shown as ``XXXX-XXXX-XX``: no I, L, O
or U, so it survives being read aloud over the phone or copied from a sheet of paper. Typing is
forgiving the way Crockford specifies: any case, any dashes or spaces, and I/L read as 1, O as 0.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import msgspec

from server.errors import InvalidField

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 50 bits: with the accept throttle, guessing is hopeless
GROUPS = (4, 4, 2)
CODE_LIFETIME = timedelta(hours=72)

_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0"})

ShareStatus = Literal["pending", "active", "revoked", "expired"]


def new_code() -> str:
    """A fresh random code, grouped for reading aloud (``7KQ2-M9XD-4R``)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return group(raw)


def group(raw: str) -> str:
    parts, start = [], 0
    for size in GROUPS:
        parts.append(raw[start : start + size])
        start += size
    return "-".join(parts)


def normalise_code(typed: str, field: str = "code") -> str:
    """The canonical 10 characters of a typed code, or a 400 naming ``field``."""
    cleaned = "".join(ch for ch in typed.upper() if ch not in "- \t").translate(_CONFUSABLE)
    if len(cleaned) != CODE_LENGTH or any(ch not in ALPHABET for ch in cleaned):
        raise InvalidField(field, "A share code has 10 letters and digits, like 7KQ2-M9XD-4R.")
    return cleaned


def code_hash(code: str) -> bytes:
    """What is stored: the SHA-256 of the canonical code (50 random bits, single use, expiring,
    throttled: a fast hash is enough, as for session tokens)."""
    return hashlib.sha256(normalise_code(code).encode()).digest()


class Party(msgspec.Struct, frozen=True):
    """The other side of a share: the clinician (to the patient) or the patient (to the
    clinician)."""

    id: UUID
    display_name: str
    email: str


class Share(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    patient_id: UUID
    created_at: datetime
    expires_at: datetime  # of the code; an accepted share lasts until revoked
    accepted_at: datetime | None = None
    revoked_at: datetime | None = None
    clinician: Party | None = None
    patient: Party | None = None

    def status(self, now: datetime) -> ShareStatus:
        if self.revoked_at is not None:
            return "revoked"
        if self.accepted_at is not None:
            return "active"
        return "expired" if self.expires_at <= now else "pending"
