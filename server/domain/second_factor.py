"""Second factors: what a TOTP code and a recovery code are, and how one is checked.

TOTP is RFC 6238 as every authenticator app does it (SHA-1, 6 digits, 30-second steps). A code
is taken for the step it matches, one step either side of now allowed for a phone's clock; the
store then takes only a step newer than the last one taken, so a code works once. Recovery
codes are 16 letters and digits (about 79 bits, nothing to confuse: no 0/o, 1/l/i), shown once,
kept as their SHA-256: a code that strong needs no slow hash.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Literal

import pyotp

STEP_SECONDS = 30
DRIFT_STEPS = 1  # steps either side of now a code may belong to
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 16

CodeKind = Literal["totp", "recovery_code"]


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The step ``code`` is the code of, within the allowed drift of ``now``; None if none."""
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in sorted(range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1), reverse=True):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def kind_of(code: str) -> CodeKind | None:
    """What was typed: six digits, a recovery code, or (None) neither."""
    if len(code) == 6 and code.isascii() and code.isdigit():
        return "totp"
    if len(code) == RECOVERY_LENGTH and all(ch in RECOVERY_ALPHABET for ch in code):
        return "recovery_code"
    return None


def normalise_code(code: str) -> str:
    """As typed, without the spaces and dashes people add, in lower case."""
    return "".join(ch for ch in code if ch not in " -\t").lower()


def recovery_code(letters: str) -> str:
    """A recovery code as it is shown, from its letters: four groups of four (abcd-efgh-...)."""
    if kind_of(letters) != "recovery_code":
        raise ValueError("a recovery code is 16 letters of the recovery alphabet")
    return "-".join(letters[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4))


def recovery_code_hash(code: str) -> bytes:
    return hashlib.sha256(normalise_code(code).encode()).digest()
