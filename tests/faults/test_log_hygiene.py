"""Nothing health-related or secret reaches a log line.

The real app runs in a subprocess at DEBUG level (stricter than production's INFO) while a
patient and a clinician drive every part of the API; then the whole log is searched for the
note text, mood values, the email addresses, the session and CSRF tokens and the share code.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from server import security
from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.live_server import LiveServer, create_clinician, signed_in_patient

pytestmark = pytest.mark.slow

NOTE = "felt-the-lake-was-singing-7f3a"
OTHER_TEXT = "tingling-left-hand-91bd"


async def _clinician(live: LiveServer, email: str) -> httpx.AsyncClient:
    await create_clinician(live.env["DATABASE_URL"], email, PASSWORD, "Dr. Log")
    client = httpx.AsyncClient(base_url=live.url, timeout=10)
    await client.get("/healthz")
    client.headers["X-CSRF-Token"] = client.cookies["csrftoken"]
    (
        await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    ).raise_for_status()
    return client


async def test_logs_hold_no_health_data_or_secrets(database_url: str, tmp_path: Path) -> None:
    live = LiveServer(database_url, tmp_path, env={"AFTERGLOW_LOG_LEVEL": "DEBUG"})
    await asyncio.to_thread(live.start)
    patient_email, clinician_email = unique_email("loggy"), unique_email("drlog")
    try:
        patient = await signed_in_patient(live.url, patient_email, PASSWORD)
        clinician = await _clinician(live, clinician_email)
        me = (await patient.get("/api/v1/me")).json()
        now = datetime.now(UTC)
        checkin_id = str(uuid.uuid4())
        responses = [
            await patient.patch("/api/v1/me", json={"display_name": "Loggy McLog"}),
            await patient.put(
                f"/api/v1/checkins/{checkin_id}",
                json={
                    "recorded_at": now.isoformat(),
                    "mood": 7,
                    "anxiety": 3,
                    "energy": 8,
                    "sleep_hours": 6.5,
                    "note": NOTE,
                    "side_effects": [{"code": "other", "severity": 3, "text": OTHER_TEXT}],
                },
            ),
            await patient.put(
                f"/api/v1/checkins/{checkin_id}", json={"recorded_at": now.isoformat(), "mood": 99}
            ),  # rejected: still not logged
            await patient.get("/api/v1/checkins"),
            await patient.put(
                f"/api/v1/assessments/{uuid.uuid4()}",
                json={
                    "instrument": "phq9",
                    "answers": [3, 3, 3, 3, 3, 3, 3, 3, 2],
                    "taken_at": now.isoformat(),
                },
            ),
            await patient.put(
                f"/api/v1/infusions/{uuid.uuid4()}",
                json={
                    "scheduled_at": (now + timedelta(days=1)).isoformat(),
                    "duration_minutes": 40,
                    "status": "planned",
                    "notes": NOTE,
                },
            ),
            await patient.post(
                "/api/v1/sync",
                json={
                    "since": None,
                    "changes": [
                        {
                            "kind": "checkin",
                            "id": str(uuid.uuid4()),
                            "op": "upsert",
                            "updated_at": now.isoformat(),
                            "data": {"recorded_at": now.isoformat(), "mood": 2, "note": NOTE},
                        }
                    ],
                },
            ),
            await patient.get("/api/v1/me/export"),
        ]
        share = await patient.post("/api/v1/shares")
        code = share.json()["code"]
        responses += [
            share,
            await clinician.post("/api/v1/shares/accept", json={"code": code}),
            await clinician.get(f"/api/v1/patients/{me['id']}/summary"),
            await clinician.get(f"/api/v1/patients/{me['id']}/export.csv"),
            await clinician.get(f"/api/v1/patients/{me['id']}/export.fhir"),
            await clinician.get("/api/v1/clinician/patients"),
            await clinician.get(f"/clinician/patients/{me['id']}"),
            await patient.get("/api/v1/me/access-log"),
            await patient.get("/"),
            await patient.get("/history"),
        ]
        statuses = [r.status_code for r in responses]
        assert all(s < 500 for s in statuses), statuses
        secrets_seen = [
            patient.cookies[security.SESSION_COOKIE],
            clinician.cookies[security.SESSION_COOKIE],
            patient.cookies[security.CSRF_COOKIE],
            code,
            code.replace("-", ""),
            patient_email,
            clinician_email,
            PASSWORD,
            NOTE,
            OTHER_TEXT,
            "Loggy McLog",
        ]
        await patient.post("/api/v1/auth/logout")
        await patient.aclose()
        await clinician.aclose()
    finally:
        await asyncio.to_thread(live.stop)

    logs = live.logs()
    assert "/api/v1/checkins" in logs  # the access log was written and is being searched
    for secret in secrets_seen:
        assert secret not in logs, f"a log line contains {secret[:6]}…"
    for pattern in (r"mood\W+\d", r"answers\W+\[", r"side_effects", r"sleep_hours\W+\d"):
        assert not re.search(pattern, logs), pattern
