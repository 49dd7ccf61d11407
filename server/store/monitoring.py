"""The reads the monitoring rules need right after a write to a patient's log
(server/services/monitoring.py): a few rows around the entry, each on an index that starts with
patient_id. Retracted and deleted entries are left out: the rules count neither."""

from __future__ import annotations

from datetime import date, datetime

from server.db import Connection
from server.domain.accounts import Access
from server.domain.logbook import ASSESSMENTS, INFUSIONS
from server.domain.records import Assessment, Infusion

# Mirrors domain.summary._is_given (and store/summary.py): not cancelled, its time has come.
_GIVEN = "NOT deleted AND status <> 'cancelled' AND scheduled_at <= $2"


async def daily_moods(
    conn: Connection, access: Access, first: date, last: date
) -> dict[date, float]:
    """Local day → mean mood of its check-ins, on days ``first``..``last``; a day's mean is
    sum / count in float8, as the summary computes it."""
    rows = await conn.fetch(
        """SELECT local_day, sum(mood)::float8 / count(*) AS mood FROM checkins
            WHERE patient_id = $1 AND NOT deleted AND local_day BETWEEN $2 AND $3
            GROUP BY local_day""",
        access.patient_id,
        first,
        last,
    )
    return {r["local_day"]: r["mood"] for r in rows}


async def first_given_infusion(conn: Connection, access: Access, now: datetime) -> Infusion | None:
    row = await conn.fetchrow(
        f"""SELECT {INFUSIONS.select_list} FROM infusions WHERE patient_id = $1 AND {_GIVEN}
             ORDER BY scheduled_at LIMIT 1""",
        access.patient_id,
        now,
    )
    return None if row is None else INFUSIONS.from_row(row)


async def given_infusion_days(
    conn: Connection, access: Access, now: datetime, last: date, count: int
) -> list[date]:
    """The days of the last ``count`` given infusions on or before ``last``, oldest first."""
    rows = await conn.fetch(
        f"""SELECT local_day FROM infusions
             WHERE patient_id = $1 AND {_GIVEN} AND local_day <= $3
             ORDER BY scheduled_at DESC LIMIT $4""",
        access.patient_id,
        now,
        last,
        count,
    )
    return sorted(r["local_day"] for r in rows)


async def phq9s_since(conn: Connection, access: Access, since: datetime) -> list[Assessment]:
    """The PHQ-9s taken since ``since``, in time order."""
    rows = await conn.fetch(
        f"""SELECT {ASSESSMENTS.select_list} FROM assessments
             WHERE patient_id = $1 AND instrument = 'phq9' AND NOT deleted AND taken_at >= $2
             ORDER BY taken_at""",
        access.patient_id,
        since,
    )
    return [ASSESSMENTS.from_row(r) for r in rows]
