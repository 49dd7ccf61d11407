"""Second factors for tests: an authenticator app set up through the API as a user would, and
the codes it shows, computed with pyotp from the secret the server gave."""

from __future__ import annotations

import time
from typing import Any

import pyotp

from server import db
from tests.helpers.client import Client

STEP = 30


def step_now() -> int:
    return int(time.time()) // STEP


def code_at(secret: str, step: int) -> str:
    """The code an authenticator app shows in 30-second step ``step``."""
    return pyotp.TOTP(secret).generate_otp(step)


async def enrol(client: Client) -> tuple[str, list[str]]:
    """An authenticator app set up on the signed-in ``client``'s account: its secret and the
    recovery codes. The confirming code is this step's: the next one usable is a later step."""
    begun = await client.post("/api/v1/auth/mfa/totp")
    assert begun.status_code == 200, begun.text
    secret = begun.json()["secret"]
    confirmed = await client.post(
        "/api/v1/auth/mfa/totp/confirm", json={"code": code_at(secret, step_now())}
    )
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["recovery_codes"]
    return secret, codes


async def allow_codes_again(pool: db.Pool, user_id: str) -> None:
    """Forget which steps' codes were taken (as if time had passed), so a test can use this
    step's code again without waiting 30 seconds."""
    async with db.transaction(pool) as conn:
        await conn.execute("UPDATE totp_factors SET last_step = 0 WHERE user_id = $1", user_id)


async def age_reauthentication(pool: db.Pool, client: Client, minutes: int = 6) -> None:
    """As if the ``client``'s session last proved who it is ``minutes`` ago."""
    from server.security import SESSION_COOKIE
    from server.services.sessions import token_hash

    async with db.transaction(pool) as conn:
        await conn.execute(
            "UPDATE sessions SET reauthenticated_at = now() - make_interval(mins => $2) "
            "WHERE token_hash = $1",
            token_hash(client.cookies[SESSION_COOKIE]),
            minutes,
        )


async def sign_in(client: Client, email: str, password: str) -> Any:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})
