"""The day-before checklist and the companion's link (migrations/0025). The link's token is
only ever handled by hash, and a companion's page reads and answers through the definer
functions, which let nothing of the patient's out but a first name and a time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from server.db import Connection
from server.domain.accounts import Access
from server.domain.companions import Checklist, CompanionLink, CompanionView, Ride

_LINK = """id, infusion_id, patient_id, name, email, expires_at, revoked_at, answer,
           answered_at, created_at"""


async def save_checklist(
    conn: Connection,
    access: Access,
    infusion_id: UUID,
    *,
    ride: Ride,
    instructions_read: bool,
    message: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO session_checklists AS c
               (infusion_id, patient_id, ride, instructions_read, message, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (infusion_id) DO UPDATE SET ride = EXCLUDED.ride,
               instructions_read = EXCLUDED.instructions_read, message = EXCLUDED.message,
               updated_at = EXCLUDED.updated_at
            WHERE c.patient_id = EXCLUDED.patient_id""",
        infusion_id,
        access.patient_id,
        ride,
        instructions_read,
        message,
        now,
    )


async def answer_home_safely(
    conn: Connection, access: Access, infusion_id: UUID, home: bool, now: datetime
) -> bool:
    done = await conn.fetchval(
        """UPDATE session_checklists SET home_safely = $3, updated_at = $4
            WHERE infusion_id = $1 AND patient_id = $2 RETURNING true""",
        infusion_id,
        access.patient_id,
        home,
        now,
    )
    return bool(done)


def _checklist(row: Any, link: CompanionLink | None) -> Checklist:
    return Checklist(
        infusion_id=row["infusion_id"],
        ride=row["ride"],
        instructions_read=row["instructions_read"],
        message=row["message"],
        home_safely=row["home_safely"],
        companion=link,
    )


async def checklists(
    conn: Connection, access: Access, infusion_ids: list[UUID]
) -> dict[UUID, Checklist]:
    """The checklists of these infusions of the patient, each with its live companion link."""
    rows = await conn.fetch(
        """SELECT infusion_id, ride, instructions_read, message, home_safely
             FROM session_checklists WHERE patient_id = $1 AND infusion_id = ANY($2::uuid[])""",
        access.patient_id,
        infusion_ids,
    )
    links = await live_links(conn, access, infusion_ids)
    return {r["infusion_id"]: _checklist(r, links.get(r["infusion_id"])) for r in rows}


async def live_links(
    conn: Connection, access: Access, infusion_ids: list[UUID]
) -> dict[UUID, CompanionLink]:
    """The newest unrevoked link of each infusion."""
    rows = await conn.fetch(
        f"""SELECT DISTINCT ON (infusion_id) {_LINK} FROM companion_links
             WHERE patient_id = $1 AND infusion_id = ANY($2::uuid[]) AND revoked_at IS NULL
             ORDER BY infusion_id, created_at DESC""",
        access.patient_id,
        infusion_ids,
    )
    return {r["infusion_id"]: msgspec.convert(dict(r), CompanionLink) for r in rows}


async def add_link(
    conn: Connection,
    access: Access,
    *,
    link_id: UUID,
    infusion_id: UUID,
    name: str,
    email: str,
    clinic: str,
    expires_at: datetime,
) -> None:
    """A new link for the infusion; any earlier one of it is revoked."""
    await revoke(conn, access, infusion_id)
    await conn.execute(
        """INSERT INTO companion_links
               (id, infusion_id, patient_id, name, email, clinic, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        link_id,
        infusion_id,
        access.patient_id,
        name,
        email,
        clinic,
        expires_at,
    )


async def ask(conn: Connection, link_id: UUID, stale_after: timedelta) -> int | None:
    """Queue the companion's email (afterglow_ask_companion); None if it cannot go."""
    queued: int | None = await conn.fetchval(
        "SELECT afterglow_ask_companion($1, $2)", link_id, stale_after
    )
    return queued


async def revoke(conn: Connection, access: Access, infusion_id: UUID) -> int:
    done = await conn.fetch(
        """UPDATE companion_links SET revoked_at = now()
            WHERE infusion_id = $1 AND patient_id = $2 AND revoked_at IS NULL RETURNING id""",
        infusion_id,
        access.patient_id,
    )
    return len(done)


async def mint_token(conn: Connection, outbox_id: int, token_hash: bytes) -> CompanionView | None:
    """The worker, as it writes the companion's email (as the owner): the link's new token,
    and what the email says. None when the link was revoked or has expired since."""
    row = await conn.fetchrow(
        """UPDATE companion_links c SET token_hash = $2
             FROM users u, infusions i
            WHERE c.outbox_id = $1 AND c.revoked_at IS NULL AND c.expires_at > now()
              AND u.id = c.patient_id AND i.id = c.infusion_id AND NOT i.deleted
           RETURNING 'open' AS state, c.name AS companion,
                     split_part(u.display_name, ' ', 1) AS patient, c.clinic, i.scheduled_at,
                     u.timezone, c.answer, u.language AS asked_in""",
        outbox_id,
        token_hash,
    )
    return None if row is None else msgspec.convert(dict(row), CompanionView)


async def by_token(conn: Connection, token_hash: bytes) -> CompanionView | None:
    row = await conn.fetchrow("SELECT * FROM afterglow_companion_request($1)", token_hash)
    return None if row is None else msgspec.convert(dict(row), CompanionView)


async def answer(conn: Connection, token_hash: bytes, reply: str) -> str:
    outcome: str = await conn.fetchval(
        "SELECT afterglow_companion_answer($1, $2)", token_hash, reply
    )
    return outcome


async def for_export(conn: Connection, access: Access) -> dict[str, list[Any]]:
    """Every checklist and companion link of the patient (their data export; no token)."""
    checklists = await conn.fetch(
        """SELECT infusion_id, ride, instructions_read, message, home_safely, updated_at
             FROM session_checklists WHERE patient_id = $1 ORDER BY updated_at""",
        access.patient_id,
    )
    links = await conn.fetch(
        f"SELECT {_LINK} FROM companion_links WHERE patient_id = $1 ORDER BY created_at",
        access.patient_id,
    )
    return {
        "checklists": [dict(r) for r in checklists],
        "companions": [msgspec.convert(dict(r), CompanionLink) for r in links],
    }
