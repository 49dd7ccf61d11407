"""Two app processes on one database: sign-out, a password change and a withdrawn share on one
are honoured by the other on its very next request (issue 19). Nothing about a session or a
share is kept in a process: each request reads them from PostgreSQL, in the same round trip as
its work where that work is one statement."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.live_server import LiveServer, create_clinician, signed_in_patient

pytestmark = pytest.mark.slow

NEW_PASSWORD = "another long passphrase"


def _on(server: LiveServer, client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The same browser (cookies, CSRF header) talking to the other process."""
    return httpx.AsyncClient(
        base_url=server.url, cookies=client.cookies, headers=client.headers, timeout=10
    )


async def _check_in(client: httpx.AsyncClient) -> int:
    response = await client.put(
        f"/api/v1/checkins/{uuid.uuid4()}",
        json={"recorded_at": datetime.now(UTC).isoformat(), "mood": 7},
    )
    return response.status_code


async def _reads(client: httpx.AsyncClient) -> list[int]:
    day = datetime.now(UTC).date().isoformat()
    return [
        (await client.get("/api/v1/me")).status_code,
        (await client.get(f"/api/v1/checkins?from={day}&to={day}")).status_code,
        (await client.post("/api/v1/sync", json={"changes": []})).status_code,
    ]


async def _sign_in(server: LiveServer, email: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=server.url, timeout=10)
    await client.get("/healthz")
    client.headers["X-CSRF-Token"] = client.cookies["csrftoken"]
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return client


async def test_the_other_process_honours_an_ended_session_a_new_password_and_a_withdrawn_share(
    fresh_database: str, tmp_path: Path
) -> None:
    first = LiveServer(fresh_database, tmp_path)
    await asyncio.to_thread(first.start)
    # One secret for both, as behind a load balancer: the CSRF token is signed with it.
    second = LiveServer(fresh_database, tmp_path, secret_key=first.env["AFTERGLOW_SECRET_KEY"])
    await asyncio.to_thread(second.start)
    opened: list[httpx.AsyncClient] = []
    try:
        # Sign-out on the first process: the second refuses the session at once.
        email = unique_email("processes")
        here = await signed_in_patient(first.url, email, PASSWORD)
        there = _on(second, here)
        opened += [here, there]
        assert await _check_in(there) == 201
        assert await _reads(there) == [200, 200, 200]
        assert (await here.post("/api/v1/auth/logout")).status_code == 204
        assert await _check_in(there) == 401
        assert await _reads(there) == [401, 401, 401]

        # A password change on the first process ends every other session, wherever it is
        # used, and the old cookie of the session that changed it.
        here = await _sign_in(first, email, PASSWORD)
        elsewhere = await _sign_in(second, email, PASSWORD)
        old_cookie = _on(second, here)
        opened += [here, elsewhere, old_cookie]
        assert await _check_in(elsewhere) == 201
        assert await _check_in(old_cookie) == 201
        changed = await here.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert changed.status_code == 204, changed.text
        assert await _check_in(elsewhere) == 401
        assert await _reads(elsewhere) == [401, 401, 401]
        assert await _check_in(old_cookie) == 401
        assert await _check_in(here) == 201  # the changer goes on under its new token

        # A share withdrawn on the first process: the clinician reading through the second is
        # refused on their next request.
        doctor_email = unique_email("dr")
        await create_clinician(fresh_database, doctor_email, PASSWORD)
        doctor = await _sign_in(second, doctor_email, PASSWORD)
        opened.append(doctor)
        code = (await here.post("/api/v1/shares")).json()
        accepted = await doctor.post("/api/v1/shares/accept", json={"code": code["code"]})
        assert accepted.status_code == 200, accepted.text
        patient_id = (await here.get("/api/v1/me")).json()["id"]
        summary = f"/api/v1/patients/{patient_id}/summary"
        assert (await doctor.get(summary)).status_code == 200
        withdrawn = await here.delete(f"/api/v1/shares/{code['id']}")
        assert withdrawn.status_code == 204, withdrawn.text
        assert (await doctor.get(summary)).status_code == 404
    finally:
        for client in opened:
            await client.aclose()
        await asyncio.to_thread(second.stop)
        await asyncio.to_thread(first.stop)
