"""Mail without an SMTP server (dev): kept in the outbox and shown at /dev/mail, which does not
exist in production; and production refuses to start without an SMTP server, or with a sender
name that says what the app is for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from server import db
from server.app import create_app
from server.config import ConfigError, Settings
from server.push.vapid import new_private_key, private_pem
from tests.helpers.accounts import register, unique_email
from tests.helpers.mail_server import deliver


def _production(tmp_path: Path, **changes: Any) -> Settings:
    settings = Settings(
        env="production",
        data_dir=tmp_path,
        secret_key="k" * 40,
        database_url="postgresql://owner@127.0.0.1:1/afterglow",
        app_database_url="postgresql://afterglow_app@127.0.0.1:1/afterglow",
        vapid_private_key=private_pem(new_private_key()),
        smtp_url="smtps://mailer:secret@smtp.example.org",
        mail_from="care@clinic.example",
    )
    return msgspec.structs.replace(settings, **changes)


async def test_mail_is_kept_and_shown_at_dev_mail_without_an_smtp_server(
    client_factory: Any, pool: db.Pool, settings: Settings
) -> None:
    assert settings.smtp_url is None and settings.env != "production"
    email = unique_email()
    await register(client_factory(), email=email)
    client = client_factory()
    assert (
        await client.post("/api/v1/auth/password-reset", json={"email": email})
    ).status_code == 202
    before = await client.get("/dev/mail")
    assert before.status_code == 200 and email not in before.text  # not written yet

    await deliver(pool, settings, None)
    page = await client.get("/dev/mail")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert email in page.text and "Choose a new Afterglow password" in page.text
    assert f'<a href="{settings.public_url}/reset#token=' in page.text
    async with db.connection(pool) as conn:
        status = await conn.fetchval(
            "SELECT status FROM mail_outbox WHERE recipient = $1 AND kind = 'password_reset'",
            email,
        )
    assert status == "kept"


async def test_dev_mail_does_not_exist_in_production(tmp_path: Path) -> None:
    app = create_app(_production(tmp_path))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://127.0.0.1") as client:
        response = await client.get("/dev/mail")
    assert response.status_code == 404


@pytest.mark.parametrize("missing", ["smtp_url", "mail_from"])
def test_production_does_not_start_without_an_smtp_server(tmp_path: Path, missing: str) -> None:
    with pytest.raises(ConfigError, match=f"AFTERGLOW_{missing.upper()} must be set"):
        create_app(_production(tmp_path, **{missing: None}))


@pytest.mark.parametrize("name", ["Bay Ketamine Clinic", "Depression Care", "Infusion Center"])
def test_a_sender_name_that_mentions_health_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="AFTERGLOW_MAIL_DISPLAY_NAME"):
        create_app(_production(tmp_path, mail_display_name=name))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AFTERGLOW_SMTP_URL", "http://mail.example.org"),
        ("AFTERGLOW_SMTP_URL", "smtp://"),
        ("AFTERGLOW_SMTP_URL", "smtp://mail.example.org:port"),
        ("AFTERGLOW_MAIL_FROM", "Clinic <care@clinic.example>"),
        ("AFTERGLOW_MAIL_FROM", "care@clinic.example\r\nBcc: x@example.org"),
        ("AFTERGLOW_MAIL_DISPLAY_NAME", "Clinic\r\nBcc: x@example.org"),
    ],
)
def test_malformed_mail_settings_name_the_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"AFTERGLOW_DATA_DIR": str(tmp_path), name: value})


def test_mail_settings_read_as_documented(tmp_path: Path) -> None:
    data = {"AFTERGLOW_DATA_DIR": str(tmp_path)}
    dev = Settings.from_env(data)
    assert (dev.smtp_url, dev.mail_from, dev.mail_display_name) == (None, None, "Afterglow")
    assert not dev.require_verified_email
    assert not Settings.from_env({**data, "AFTERGLOW_ENV": "test"}).require_verified_email
    assert Settings.from_env(
        {**data, "AFTERGLOW_SMTP_URL": "smtp+starttls://u:p%40ss@smtp.example.org:587"}
    ).smtp_url == ("smtp+starttls://u:p%40ss@smtp.example.org:587")
    production = {
        **data,
        "AFTERGLOW_ENV": "production",
        "DATABASE_URL": "postgresql://x/y",
        "AFTERGLOW_SECRET_KEY": "k" * 40,
    }
    assert Settings.from_env(production).require_verified_email
    assert not Settings.from_env(
        {**production, "AFTERGLOW_REQUIRE_VERIFIED_EMAIL": "0"}
    ).require_verified_email
