"""Operators rely on the README: every setting must be documented there; bad settings are clear."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.config import SETTINGS, ConfigError, Setting, Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _readme_row(name: str) -> list[str]:
    """The cells of the README settings table's row for ``name``."""
    for line in README.splitlines():
        if line.startswith(f"| `{name}` |"):
            return [cell.strip() for cell in line.strip().strip("|").split("|")]
    raise AssertionError(f"{name} has no row in the README's settings table")


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_every_setting_is_in_the_readme_table_with_its_default(setting: Setting[Any]) -> None:
    assert _readme_row(setting.env)[1] == setting.default


def test_every_settings_field_is_declared_once() -> None:
    fields = [s.field for s in SETTINGS]
    assert len(fields) == len(set(fields))
    assert set(fields) == set(Settings.__struct_fields__)


def test_every_afterglow_variable_read_by_the_code_is_a_setting() -> None:
    import re

    names = {s.env for s in SETTINGS}
    source = "\n".join(p.read_text() for p in (ROOT / "server").rglob("*.py"))
    used = set(re.findall(r'"(AFTERGLOW_[A-Z_]+)"', source))
    assert used <= names, used - names


def test_production_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AFTERGLOW_SECRET_KEY"):
        Settings.from_env(
            {
                "AFTERGLOW_ENV": "production",
                "DATABASE_URL": "postgresql://x/y",
                "AFTERGLOW_DATA_DIR": str(tmp_path),
            }
        )
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Settings.from_env(
            {
                "AFTERGLOW_ENV": "production",
                "AFTERGLOW_SECRET_KEY": "s" * 40,
                "AFTERGLOW_DATA_DIR": str(tmp_path),
            }
        )


def test_dev_secret_is_made_once_and_kept(tmp_path: Path) -> None:
    env = {"AFTERGLOW_DATA_DIR": str(tmp_path)}
    first = Settings.from_env(env).secret_key
    assert len(first) >= 32
    assert Settings.from_env(env).secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AFTERGLOW_ENV", "staging"),
        ("AFTERGLOW_PORT", "eighty"),
        ("AFTERGLOW_WORKER", "yes"),
        ("AFTERGLOW_PUSH_TIMEOUT", "soon"),
    ],
)
def test_malformed_settings_name_the_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"AFTERGLOW_DATA_DIR": str(tmp_path), name: value})


def test_the_worker_runs_by_default_only_in_dev(tmp_path: Path) -> None:
    env = {"AFTERGLOW_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(env).worker
    assert not Settings.from_env({**env, "AFTERGLOW_ENV": "test"}).worker
    assert not Settings.from_env({**env, "AFTERGLOW_WORKER": "0"}).worker
