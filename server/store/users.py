"""Accounts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from server.db import Connection
from server.domain.accounts import Role, User
from server.errors import Conflict

_COLUMNS = "id, email, role, display_name, timezone, clinic_phone, created_at, language"


def user_from_row(row: Any) -> User:
    return msgspec.convert(dict(row), User)


async def create_user(
    conn: Connection,
    *,
    email: str,
    role: Role,
    password_hash: str,
    display_name: str,
    timezone: str,
    language: str = "en",
) -> User:
    # A patient signs up before any request is theirs: through the one function that may add
    # an account (a patient's) then. Clinicians are made by operators, as the tables' owner.
    try:
        if role == "patient":
            row = await conn.fetchrow(
                "SELECT * FROM afterglow_sign_up($1, $2, $3, $4, $5)",
                email,
                password_hash,
                display_name,
                timezone,
                language,
            )
        else:
            row = await conn.fetchrow(
                f"""INSERT INTO users (email, role, password_hash, display_name, timezone,
                                       language)
                    VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}""",
                email,
                role,
                password_hash,
                display_name,
                timezone,
                language,
            )
    except asyncpg.UniqueViolationError:
        raise Conflict("An account with this email already exists.", field="email") from None
    return user_from_row(row)


async def credentials_by_email(conn: Connection, email: str) -> tuple[User, str] | None:
    """Sign-in, before any request is the account's: one account, found by its email."""
    row = await conn.fetchrow("SELECT * FROM afterglow_credentials($1)", email)
    return None if row is None else (user_from_row(row), row["password_hash"])


async def password_hash_of_session(conn: Connection, token: str) -> str | None:
    """The current password hash of the account of ``token``'s signed-in session: the app's
    role may not read the column itself (migrations/0017)."""
    value: str | None = await conn.fetchval("SELECT afterglow_password_hash($1)", token)
    return value


async def user_by_email(conn: Connection, email: str) -> User | None:
    """One account by its address (operator commands, as the tables' owner)."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE lower(email) = lower($1)", email)
    return None if row is None else user_from_row(row)


async def update_profile(conn: Connection, user_id: UUID, changes: dict[str, Any]) -> User:
    allowed = {"display_name", "timezone", "clinic_phone", "language"}
    fields = [name for name in changes if name in allowed]
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=2))
    if not assignments:
        row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE id = $1", user_id)
    else:
        row = await conn.fetchrow(
            f"UPDATE users SET {assignments} WHERE id = $1 RETURNING {_COLUMNS}",
            user_id,
            *(changes[name] for name in fields),
        )
    return user_from_row(row)


async def set_password(conn: Connection, user_id: UUID, password_hash: str) -> None:
    await conn.execute(
        "UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1",
        user_id,
        password_hash,
    )


async def delete_user(conn: Connection, user_id: UUID) -> None:
    """Erase the account; every table of patient data cascades from users."""
    await conn.execute("DELETE FROM users WHERE id = $1", user_id)
