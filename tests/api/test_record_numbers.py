"""The clinic's record number on a share: set by the clinician the patient shares with, from the
summary page; shown on the page and in every printed page's head; nobody else can set it; the
database holds that rule against a statement of the app's own role too."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from litestar import Litestar

from server import db
from server.security import SESSION_COOKIE
from server.services import sessions
from tests.helpers.accounts import make_clinician
from tests.helpers.sharing import audit_rows, share


async def set_number(client: Any, patient_id: str, value: str) -> Any:
    return await client.post(
        f"/clinician/patients/{patient_id}/record-number",
        data={"record_number": value, "range": "30"},
    )


async def test_the_clinician_sets_it_and_the_summary_heads_every_sheet_with_it(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    await share(patient, clinician)
    pid = patient.me["id"]
    page = (await clinician.get(f"/clinician/patients/{pid}")).text
    assert "no clinic record number" in page
    assert 'name="record_number"' in page

    saved = await set_number(clinician, pid, "  AG-20417 ")
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/clinician/patients/{pid}?range=30"
    page = (await clinician.get(f"/clinician/patients/{pid}")).text
    assert "Record no. AG-20417" in page
    assert f"Printed by {clinician.me['display_name']}" in page
    assert 'value="AG-20417"' in page
    # The patient's access log says who noted it.
    assert [r["actor_id"] for r in await audit_rows(pool, pid, "record_number_set")] == [
        uuid.UUID(clinician.me["id"])
    ]

    cleared = await set_number(clinician, pid, "")
    assert cleared.status_code == 303
    assert "no clinic record number" in (await clinician.get(f"/clinician/patients/{pid}")).text


async def test_a_record_number_too_long_is_refused_naming_the_field(
    patient: Any, clinician: Any
) -> None:
    await share(patient, clinician)
    refused = await set_number(clinician, patient.me["id"], "X" * 41)
    assert refused.status_code == 400
    assert refused.json()["field"] == "record_number"  # type: ignore[index]


async def test_nobody_else_sets_it(
    patient: Any, clinician: Any, client_factory: Any, pool: db.Pool
) -> None:
    pid = patient.me["id"]
    stranger = client_factory()
    stranger.me = await make_clinician(pool, stranger)
    await share(patient, clinician)
    assert (await set_number(stranger, pid, "STOLEN")).status_code == 404
    # A patient's browser is sent away from a clinician's page, as on any other.
    assert (await set_number(patient, pid, "MINE")).status_code in (302, 403)
    async with pool.acquire() as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM shares WHERE record_number IS NOT NULL AND patient_id = $1",
                uuid.UUID(pid),
            )
            == 0
        )


async def test_the_app_role_may_change_no_other_column_of_a_share(
    app: Litestar, patient: Any, clinician: Any
) -> None:
    await share(patient, clinician)
    pool = app.state.pool
    async with db.request_scope(), db.connection(pool) as conn:
        assert await sessions.user_for_token(pool, clinician.cookies[SESSION_COOKIE])
        # Its own active share: the number, yes; withdrawing it or taking another's, no.
        assert await conn.fetchval(
            "UPDATE shares SET record_number = 'R-1' WHERE patient_id = $1 RETURNING id",
            uuid.UUID(patient.me["id"]),
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE shares SET expires_at = now()")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(
                "UPDATE shares SET revoked_at = now() WHERE patient_id = $1",
                uuid.UUID(patient.me["id"]),
            )
