"""What operators touch: VAPID keys, `reminders due`, and the worker inside `serve`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from server import db
from server.__main__ import main
from server.app import create_app
from server.config import ConfigError, Settings
from server.domain.reminders import PushPayload, ReminderPrefs
from server.push.vapid import (
    key_path,
    load_vapid_keys,
    new_private_key,
    private_pem,
    public_key_of,
)
from server.store import reminders as reminder_store
from server.timeutil import utc_now
from tests.helpers.push import People, at
from tests.helpers.push_service import PushService

ROOT = Path(__file__).resolve().parents[2]


def test_the_dev_key_pair_is_made_once_and_never_replaced(tmp_path: Path) -> None:
    settings = Settings(env="dev", data_dir=tmp_path, secret_key="x")
    first = load_vapid_keys(settings)
    pem = key_path(settings).read_text()
    assert oct(key_path(settings).stat().st_mode & 0o777) == "0o600"
    again = load_vapid_keys(settings)
    assert again.public_key == first.public_key and key_path(settings).read_text() == pem


def test_vapid_keys_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AFTERGLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AFTERGLOW_ENV", "dev")
    monkeypatch.delenv("AFTERGLOW_VAPID_PRIVATE_KEY", raising=False)
    assert main(["vapid-keys"]) == 0
    made = capsys.readouterr().out
    assert "created" in made
    pem = (tmp_path / "vapid_private.pem").read_text()
    assert main(["vapid-keys"]) == 0
    kept = capsys.readouterr().out
    assert "kept the existing" in kept and "orphan" in kept
    assert (tmp_path / "vapid_private.pem").read_text() == pem
    assert made.splitlines()[-1] == kept.splitlines()[-1]  # the same public key

    # For production: print a pair, write nothing; the app then takes it from the setting.
    assert main(["vapid-keys", "--print"]) == 0
    printed = capsys.readouterr().out.splitlines()
    private = next(line for line in printed if line.startswith("AFTERGLOW_VAPID_PRIVATE_KEY="))
    public = printed[-1].rsplit(" ", 1)[1]
    settings = Settings(env="production", data_dir=tmp_path / "empty", secret_key="x")
    from_setting = load_vapid_keys(replace_settings(settings, private.split("=", 1)[1]))
    assert from_setting.public_key == public
    assert from_setting.source == "AFTERGLOW_VAPID_PRIVATE_KEY"


def replace_settings(settings: Settings, key: str) -> Settings:
    return msgspec.structs.replace(settings, vapid_private_key=key)


def test_production_without_a_key_does_not_start(tmp_path: Path) -> None:
    settings = Settings(
        env="production", data_dir=tmp_path, secret_key="x", database_url="postgresql://x/y"
    )
    with pytest.raises(ConfigError, match="AFTERGLOW_VAPID_PRIVATE_KEY must be set"):
        create_app(settings)
    assert not key_path(settings).exists()
    with pytest.raises(ConfigError, match="cannot be read"):
        load_vapid_keys(replace_settings(settings, "not a key"))
    with pytest.raises(ConfigError, match="AFTERGLOW_VAPID_SUBJECT"):
        load_vapid_keys(msgspec.structs.replace(settings, vapid_subject="admin"))
    key = new_private_key()
    pem = load_vapid_keys(replace_settings(settings, private_pem(key)))
    assert pem.public_key == public_key_of(key)


async def test_reminders_due_lists_who_and_what_but_no_payload(
    pool: db.Pool, people: People, push_service: PushService, database_url: str, tmp_path: Path
) -> None:
    patient = await people.user()
    await people.device(patient, push_service)
    now = at("2025-01-15T12:00Z")
    prefs = ReminderPrefs(weekly_phq9_day=None, weekly_phq9_time=None)
    async with db.transaction(pool) as conn:
        await reminder_store.save_prefs(conn, patient, prefs)
        await reminder_store.replan_patient(conn, patient, now=now)

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "AFTERGLOW_ENV": "test",
        "AFTERGLOW_DATA_DIR": str(tmp_path),
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server", "reminders", "due", "--at", "2025-01-15T19:30:00-05:00"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    mine = [line for line in done.stdout.splitlines() if str(patient) in line]
    assert mine == [f"2025-01-16T00:00:00+00:00  daily_checkin             {patient}"]
    assert "check-in" not in done.stdout.lower()

    refused = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server", "reminders", "due", "--at", "2025-01-15 19:30"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "UTC offset" in refused.stderr


async def test_serve_runs_the_worker_when_asked(
    settings: Settings, pool: db.Pool, people: People, push_service: PushService
) -> None:
    user = await people.user(role="clinician")
    sub = await people.device(user, push_service)
    now = utc_now()
    async with db.transaction(pool) as conn:
        await reminder_store.enqueue_notification(
            conn,
            user,
            "test_worker",
            "now",
            now - timedelta(seconds=1),
            now + timedelta(minutes=10),
            PushPayload("Afterglow", "A patient needs your attention", "/clinician", "attention"),
        )
    app = create_app(msgspec.structs.replace(settings, worker=True))
    async with app.lifespan():
        tasks = [t for t in asyncio.all_tasks() if t.get_name() == "reminders"]
        assert len(tasks) == 1
        for _ in range(300):
            if push_service.delivered_to(sub):
                break
            await asyncio.sleep(0.02)
    assert [d.json()["body"] for d in push_service.delivered_to(sub)] == [
        "A patient needs your attention"
    ]
    assert tasks[0].done()  # stopped with the app
