"""What the two outboxes (mail_outbox, push_outbox) keep the same way: finished rows are
forgotten after a while, a bounded chunk at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from server.db import Connection

Outbox = Literal["mail_outbox", "push_outbox"]


async def prune_finished(
    conn: Connection, outbox: Outbox, before: datetime, *, limit: int = 10_000
) -> int:
    """Delete up to ``limit`` rows of ``outbox`` that are no longer pending and finished before
    ``before``; how many went."""
    deleted: int = await conn.fetchval(
        f"""WITH gone AS (
               DELETE FROM {outbox} WHERE id IN (
                   SELECT id FROM {outbox}
                    WHERE status <> 'pending' AND finished_at < $1 LIMIT $2)
               RETURNING 1)
           SELECT count(*) FROM gone""",
        before,
        limit,
    )
    return deleted
