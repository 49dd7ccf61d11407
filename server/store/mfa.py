"""Second factors: TOTP secrets and recovery codes. The app's role has no privilege on their
tables; a request reaches them only through the functions of migrations/0017, each acting for
the session whose cookie token it is given. The operator's steps run as the tables' owner."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from server.db import Connection
from server.domain.accounts import User


class Totp(msgspec.Struct, frozen=True, kw_only=True):
    """A session's account's TOTP factor: confirmed, or still being enrolled."""

    user_id: UUID
    secret: str
    confirmed: bool
    last_step: int
    recovery_codes_left: int


async def totp_of(conn: Connection, token: str) -> Totp | None:
    """The factor of the account of ``token``'s session (a session waiting for its second
    factor gets only a confirmed one)."""
    row: Any = await conn.fetchrow("SELECT * FROM afterglow_totp_of($1)", token)
    return None if row is None else msgspec.convert(dict(row), Totp)


async def begin_totp(conn: Connection, token: str, secret: str) -> bool:
    """``secret`` becomes the account's factor to be confirmed; False where one is confirmed."""
    return bool(await conn.fetchval("SELECT afterglow_begin_totp($1, $2)", token, secret))


async def confirm_totp(
    conn: Connection, token: str, step: int, recovery_code_hashes: list[bytes]
) -> bool:
    """The factor confirmed with the code of ``step``, with these recovery codes; every other
    session of the account ends."""
    return bool(
        await conn.fetchval(
            "SELECT afterglow_confirm_totp($1, $2, $3)", token, step, recovery_code_hashes
        )
    )


async def pass_second_factor(
    conn: Connection,
    token: str,
    *,
    new_token_hash: bytes,
    idle_timeout: timedelta,
    expires_at: datetime,
    step: int | None,
    recovery_code_hash: bytes | None,
) -> User | None:
    """A session waiting for its second factor, and a code used once (the TOTP code of
    ``step``, or a recovery code): a signed-in session under the new token, the rest of this
    request the account's. None, and nothing changed, for anything else."""
    row: Any = await conn.fetchrow(
        "SELECT * FROM afterglow_pass_second_factor($1, $2, $3, $4, $5, $6)",
        token,
        new_token_hash,
        idle_timeout,
        expires_at,
        step,
        recovery_code_hash,
    )
    return None if row is None else msgspec.convert(dict(row), User)


async def reauthenticate_with_code(
    conn: Connection, token: str, step: int | None, recovery_code_hash: bytes | None
) -> bool:
    """A code used once by a signed-in session's account, the session re-authenticated now."""
    return bool(
        await conn.fetchval(
            "SELECT afterglow_reauthenticate_with_code($1, $2, $3)",
            token,
            step,
            recovery_code_hash,
        )
    )


async def remove_totp(conn: Connection, token: str) -> bool:
    """The signed-in account's factor and recovery codes gone; False where it had none."""
    return bool(await conn.fetchval("SELECT afterglow_remove_totp($1)", token))


async def reset(conn: Connection, user_id: UUID) -> bool:
    """The operator's reset, as the tables' owner: the account's factor and recovery codes gone,
    its passkeys too (each signs in on its own, and is a clinician's second factor:
    migrations/0018), and every session of it ended. False where it had none of them."""
    await conn.execute("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
    removed: str = await conn.execute("DELETE FROM totp_factors WHERE user_id = $1", user_id)
    passkeys: str = await conn.execute("DELETE FROM passkeys WHERE user_id = $1", user_id)
    await conn.execute("DELETE FROM sessions WHERE user_id = $1", user_id)
    return removed != "DELETE 0" or passkeys != "DELETE 0"


async def set_confirmed_totp(conn: Connection, user_id: UUID, secret: str) -> None:
    """An authenticator app set up without its first code (the demo, as the tables' owner)."""
    await conn.execute(
        """INSERT INTO totp_factors (user_id, secret, confirmed_at) VALUES ($1, $2, now())
           ON CONFLICT (user_id) DO UPDATE SET secret = $2, confirmed_at = now(), last_step = 0""",
        user_id,
        secret,
    )
