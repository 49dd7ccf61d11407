"""Where app requests log in: AFTERGLOW_APP_DATABASE_URL, which production must set; elsewhere
the owner's URL as afterglow_app, without the owner's password."""

from __future__ import annotations

import pytest

from server import db
from server.config import ConfigError, Settings

OWNER = "postgresql://owner:secret@db.internal:5433/afterglow?sslmode=require"


def test_outside_production_the_owners_url_logs_in_as_the_app_role() -> None:
    for env in ("dev", "test"):
        assert db.app_database_url(Settings(env=env), OWNER) == (
            "postgresql://afterglow_app@db.internal:5433/afterglow?sslmode=require"
        )
    embedded = "postgresql://postgres:@/postgres?host=/tmp/pg"
    assert (
        db.app_database_url(Settings(), embedded)
        == "postgresql://afterglow_app@/postgres?host=/tmp/pg"
    )


def test_the_setting_wins_and_production_requires_it() -> None:
    app_url = "postgresql://afterglow_app:pw@db.internal/afterglow"
    assert (
        db.app_database_url(Settings(env="production", app_database_url=app_url), OWNER) == app_url
    )
    with pytest.raises(ConfigError, match="AFTERGLOW_APP_DATABASE_URL"):
        db.app_database_url(Settings(env="production"), OWNER)
