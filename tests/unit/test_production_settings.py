"""Production refuses weak settings, and the settings that harden a deployment read as documented:
AFTERGLOW_SECRET_KEY of at least 32 bytes, AFTERGLOW_OPENAPI off unless asked for in production,
AFTERGLOW_FORWARDED_ALLOW_IPS as addresses and networks."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import ConfigError, Settings


def _production(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "AFTERGLOW_ENV": "production",
        "DATABASE_URL": "postgresql://x/y",
        "AFTERGLOW_DATA_DIR": str(tmp_path),
        "AFTERGLOW_SECRET_KEY": "k" * 32,
        **extra,
    }


@pytest.mark.parametrize("secret", ["short", "k" * 31, "é" * 15 + "k"])
def test_production_refuses_a_secret_key_under_32_bytes(tmp_path: Path, secret: str) -> None:
    with pytest.raises(ConfigError, match=r"AFTERGLOW_SECRET_KEY.*32 bytes"):
        Settings.from_env(_production(tmp_path, AFTERGLOW_SECRET_KEY=secret))


def test_a_32_byte_secret_is_enough(tmp_path: Path) -> None:
    assert Settings.from_env(_production(tmp_path, AFTERGLOW_SECRET_KEY="é" * 16)).env == (
        "production"
    )


def test_outside_production_a_short_secret_is_accepted(tmp_path: Path) -> None:
    env = {"AFTERGLOW_DATA_DIR": str(tmp_path), "AFTERGLOW_SECRET_KEY": "dev"}
    assert Settings.from_env({**env, "AFTERGLOW_ENV": "test"}).secret_key == "dev"


def test_the_openapi_document_is_off_by_default_only_in_production(tmp_path: Path) -> None:
    data = {"AFTERGLOW_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(data).openapi
    assert Settings.from_env({**data, "AFTERGLOW_ENV": "test"}).openapi
    assert Settings().openapi
    assert not Settings.from_env(_production(tmp_path)).openapi
    assert Settings.from_env(_production(tmp_path, AFTERGLOW_OPENAPI="1")).openapi
    assert not Settings.from_env({**data, "AFTERGLOW_OPENAPI": "0"}).openapi


def test_forwarded_allow_ips_are_addresses_and_networks(tmp_path: Path) -> None:
    data = {"AFTERGLOW_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(data).forwarded_allow_ips == ()
    listed = {**data, "AFTERGLOW_FORWARDED_ALLOW_IPS": "10.0.0.0/8, 127.0.0.1,::1 ,"}
    assert Settings.from_env(listed).forwarded_allow_ips == (
        "10.0.0.0/8",
        "127.0.0.1/32",
        "::1/128",
    )


@pytest.mark.parametrize("value", ["*", "proxy.internal", "10.0.0.1/8", "127.0.0.1 10.0.0.1"])
def test_forwarded_allow_ips_refuses_anything_else(tmp_path: Path, value: str) -> None:
    """Not a name (it would have to be resolved) nor `*` (believe anyone: never what is meant);
    a network with host bits set is a typo."""
    with pytest.raises(ConfigError, match="AFTERGLOW_FORWARDED_ALLOW_IPS"):
        Settings.from_env(
            {"AFTERGLOW_DATA_DIR": str(tmp_path), "AFTERGLOW_FORWARDED_ALLOW_IPS": value}
        )
