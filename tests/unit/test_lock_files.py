"""The lock files (requirements/, made by scripts/lock.sh) hold what pyproject.toml asks for:
every dependency pinned within its floor, with hashes, one version of each package across the
files, and the embedded PostgreSQL kept out of what production installs. A dependency added to
pyproject.toml without `scripts/lock.sh` fails here, not in a fresh clone's `make test`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?: ;[^\\]*)?\s*\\$")


def pins(lock: str) -> dict[str, str]:
    """Package → version, for every entry of a lock file; each entry carries hashes."""
    lines = (ROOT / "requirements" / lock).read_text().splitlines()
    found: dict[str, str] = {}
    for number, line in enumerate(lines):
        match = _PIN.match(line)
        if match:
            assert lines[number + 1].strip().startswith("--hash=sha256:"), line
            found[canonicalize_name(match[1])] = match[2]
        else:
            assert not re.match(r"^[A-Za-z0-9]", line), f"{lock}: an entry without hashes: {line}"
    return found


def wanted(*extras: str) -> list[Requirement]:
    listed = PROJECT["dependencies"] + [
        d for e in extras for d in PROJECT["optional-dependencies"][e]
    ]
    return [Requirement(d) for d in listed]


@pytest.mark.parametrize(
    ("lock", "extras"),
    [("runtime.txt", ()), ("dev.txt", ("embedded",)), ("test.txt", ("embedded", "test"))],
)
def test_every_dependency_is_pinned_within_its_floor(lock: str, extras: tuple[str, ...]) -> None:
    pinned = pins(lock)
    for requirement in wanted(*extras):
        version = pinned.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in {lock}: run scripts/lock.sh"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {requirement.name}=={version}, outside {requirement.specifier}"
        )


def test_the_files_agree_and_production_has_no_embedded_postgres() -> None:
    runtime, dev, test = pins("runtime.txt"), pins("dev.txt"), pins("test.txt")
    assert "pgserver" not in runtime
    assert "pgserver" in dev and "pgserver" in test
    for name, version in (runtime | dev).items():
        assert test.get(name) == version, f"{name}: {version} here, {test.get(name)} in test.txt"
    assert "setuptools" in runtime  # the project is built without fetching anything
