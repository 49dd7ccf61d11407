"""Password hashing: argon2id, run off the event loop."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.config import Environment

# The library's RFC 9106 low-memory profile: ~100 ms of CPU a hash on this hardware.
_PRODUCTION = PasswordHasher()
# AFTERGLOW_ENV=test only: the same algorithm at the lowest cost, so a test suite that signs
# hundreds of accounts in does not spend minutes hashing. Hashes carry their own parameters,
# so either hasher verifies the other's.
_TEST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
_hasher = _PRODUCTION
# argon2 hashes in a small pool of threads of its own, never more at once than there are
# cores, so a burst of sign-ins cannot starve everything else.
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")


def configure(env: Environment) -> None:
    """Choose the cost for this process (the app, the CLI and the test fixtures call it)."""
    global _hasher
    _hasher = _TEST if env == "test" else _PRODUCTION


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified when the email is unknown, so both failures take the same time."""
    return hasher.hash("afterglow-dummy-password")


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool, _hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """False for a wrong password and for an unknown account, in about the same time."""
    stored = password_hash or _dummy_hash(_hasher)
    return await asyncio.get_running_loop().run_in_executor(
        _pool, _verify, stored, password, password_hash is not None
    )


def _verify(password_hash: str, password: str, real: bool) -> bool:
    try:
        return _hasher.verify(password_hash, password) and real
    except (VerificationError, InvalidHashError):
        return False
