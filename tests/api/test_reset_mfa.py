"""`python -m server reset-mfa --email E`, for the operator helping someone who lost both their
phone and their recovery codes: the second factor removed, every session of the account ended,
an audit row written; they sign in again with the password alone."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from server import db
from server.config import Settings
from tests.helpers.accounts import PASSWORD
from tests.helpers.second_factor import enrol, sign_in
from tests.helpers.sharing import audit_rows

ROOT = Path(__file__).resolve().parents[2]


async def _reset_mfa(
    settings: Settings, tmp_path: Path, email: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AFTERGLOW_")},
        "DATABASE_URL": settings.database_url or "",
        "AFTERGLOW_ENV": "test",
        "AFTERGLOW_DATA_DIR": str(tmp_path),
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server", "reset-mfa", "--email", email],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_reset_mfa_removes_the_factor_and_ends_every_session(
    patient: Any, client_factory: Any, pool: db.Pool, settings: Settings, tmp_path: Path
) -> None:
    await enrol(patient)
    laptop = client_factory()
    assert (await sign_in(laptop, patient.me["email"], PASSWORD)).json() == {"mfa_required": True}

    done = await _reset_mfa(settings, tmp_path, patient.me["email"].upper())
    assert done.returncode == 0, done.stderr
    assert "every session ended" in done.stdout

    assert (await patient.get("/api/v1/me")).status_code == 401
    again = await sign_in(laptop, patient.me["email"], PASSWORD)
    assert again.status_code == 200 and again.json()["id"] == patient.me["id"]  # one step
    assert (await laptop.get("/api/v1/auth/mfa")).json()["totp"] is False
    rows = await audit_rows(pool, patient.me["id"], "second_factor_reset")
    assert len(rows) == 1
    assert rows[0]["actor_role"] == "operator" and rows[0]["address"] == "command line"
    assert rows[0]["detail"]["had_second_factor"] is True
    log = (await laptop.get("/api/v1/me/access-log")).json()["items"]
    assert any(item["action"] == "second_factor_reset" for item in log)


async def test_reset_mfa_for_an_unknown_address_says_so(settings: Settings, tmp_path: Path) -> None:
    done = await _reset_mfa(settings, tmp_path, "nobody@example.org")
    assert done.returncode == 1
    assert "No account has this address." in done.stderr
