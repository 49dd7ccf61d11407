"""GET /api/v1/me/export: everything a patient has stored, as one JSON document (their right of
access and portability). Each kind of data is one section; a feature that stores patient data
adds its own to ``SECTIONS``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Response, get
from litestar.di import Provide

from server import security
from server.access import Access, own_access
from server.api import CurrentUser, DbPool
from server.api.auth import me_of
from server.db import Connection, transaction
from server.store import assessments as assessment_store
from server.store import audit as audit_store
from server.store import checkins as checkin_store
from server.store import infusions as infusion_store
from server.store import push as push_store
from server.store import reminders as reminder_store
from server.store import shares as share_store
from server.timeutil import utc_now

FORMAT = "afterglow-export/1"

Section = Callable[[Connection, Access], Awaitable[Any]]

# Deleted entries are gone (only an empty tombstone is kept), so they are not exported.
SECTIONS: dict[str, Section] = {
    "checkins": checkin_store.all_checkins,
    "assessments": assessment_store.all_assessments,
    "infusions": infusion_store.all_infusions,
    "shares": share_store.shares_for_export,
    "access_log": audit_store.trail_for_export,
    "reminders": lambda conn, access: reminder_store.prefs_of(conn, access.patient_id),
    "devices": lambda conn, access: push_store.device_status(conn, access.patient_id),
}


@get(
    "/api/v1/me/export",
    tags=["accounts"],
    dependencies={"user": Provide(security.provide_patient)},
)
async def export_me(user: CurrentUser, pool: DbPool) -> Response[dict[str, Any]]:
    access = own_access(user)
    document: dict[str, Any] = {
        "format": FORMAT,
        "exported_at": utc_now(),
        "account": me_of(user),
    }
    async with transaction(pool) as conn:
        # One snapshot, so the sections agree with each other.
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for name, section in SECTIONS.items():
            document[name] = await section(conn, access)
    return Response(
        document,
        headers={"Content-Disposition": 'attachment; filename="afterglow-export.json"'},
    )
