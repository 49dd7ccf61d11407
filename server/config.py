"""Settings from environment variables.

Every setting is listed once in ``SETTINGS`` with its default and meaning; the README's settings
table is checked against this list by ``tests/unit/test_docs.py``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

Environment = Literal["dev", "test", "production"]


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


class Setting(msgspec.Struct, frozen=True):
    env: str
    default: str
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", "(unset)", "PostgreSQL URL; unset starts an embedded PostgreSQL"),
    Setting("AFTERGLOW_ENV", "dev", "`dev`, `test` or `production`"),
    Setting("AFTERGLOW_HOST", "127.0.0.1", "address `serve` listens on"),
    Setting("AFTERGLOW_PORT", "8000", "port `serve` listens on"),
    Setting("AFTERGLOW_DATA_DIR", "./var", "embedded database, dev secret key, VAPID keys"),
    Setting("AFTERGLOW_SECRET_KEY", "(dev: made once in the data dir)", "signs CSRF tokens"),
    Setting(
        "AFTERGLOW_VAPID_PRIVATE_KEY", "(dev: data dir)", "VAPID private key, PEM or base64url"
    ),
    Setting("AFTERGLOW_VAPID_SUBJECT", "mailto:admin@localhost", "VAPID `sub` claim"),
    Setting("AFTERGLOW_CLINIC_PHONE", "(unset)", "clinic phone shown with crisis resources"),
    Setting("AFTERGLOW_WORKER", "1 in dev, else 0", "`1`: `serve` also runs the reminder worker"),
    Setting("AFTERGLOW_PUSH_CONCURRENCY", "32", "pushes in flight at once per reminder worker"),
    Setting("AFTERGLOW_PUSH_TIMEOUT", "10", "seconds to wait for a push service's answer"),
    Setting("AFTERGLOW_PUSH_LEASE_SECONDS", "120", "a worker's hold on claimed reminders"),
    Setting("AFTERGLOW_MIGRATE_ON_START", "1", "`1`: `serve` applies pending migrations at start"),
    Setting("AFTERGLOW_PUBLIC_URL", "http://127.0.0.1:8000", "external URL; https turns on HSTS"),
    Setting("AFTERGLOW_DB_POOL_SIZE", "10", "connections per app process"),
    Setting("AFTERGLOW_DB_TIMEOUT", "3", "seconds before a database call gives up (then 503)"),
    Setting("AFTERGLOW_PATIENT_IDLE_DAYS", "30", "patient session idle expiry"),
    Setting("AFTERGLOW_PATIENT_ABSOLUTE_DAYS", "90", "patient session absolute expiry"),
    Setting("AFTERGLOW_CLINICIAN_IDLE_MINUTES", "30", "clinician session idle expiry"),
    Setting("AFTERGLOW_CLINICIAN_ABSOLUTE_HOURS", "12", "clinician session absolute expiry"),
    Setting("AFTERGLOW_LOG_LEVEL", "INFO", "Python log level"),
)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    env: Environment = "dev"
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("var")
    secret_key: str = ""
    vapid_private_key: str | None = None
    vapid_subject: str = "mailto:admin@localhost"
    clinic_phone: str | None = None
    worker: bool = False
    push_concurrency: int = 32
    push_timeout: float = 10.0
    push_lease_seconds: int = 120
    migrate_on_start: bool = True
    public_url: str = "http://127.0.0.1:8000"
    db_pool_size: int = 10
    db_timeout: float = 3.0
    patient_idle_days: int = 30
    patient_absolute_days: int = 90
    clinician_idle_minutes: int = 30
    clinician_absolute_hours: int = 12
    log_level: str = "INFO"

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def secure_cookies(self) -> bool:
        """Secure cookies everywhere but plain-http development and tests on loopback."""
        return self.https or self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        mode = env.get("AFTERGLOW_ENV", "dev")
        if mode not in ("dev", "test", "production"):
            raise ConfigError(f"AFTERGLOW_ENV must be dev, test or production, not {mode!r}")
        data_dir = Path(env.get("AFTERGLOW_DATA_DIR", "var"))
        secret = env.get("AFTERGLOW_SECRET_KEY", "")
        if not secret:
            if mode == "production":
                raise ConfigError("AFTERGLOW_SECRET_KEY must be set when AFTERGLOW_ENV=production")
            secret = _dev_secret(data_dir)
        database_url = env.get("DATABASE_URL") or None
        if mode == "production" and database_url is None:
            raise ConfigError("DATABASE_URL must be set when AFTERGLOW_ENV=production")
        try:
            return cls(
                env=mode,  # type: ignore[arg-type]
                database_url=database_url,
                host=env.get("AFTERGLOW_HOST", "127.0.0.1"),
                port=_int(env, "AFTERGLOW_PORT", 8000),
                data_dir=data_dir,
                secret_key=secret,
                vapid_private_key=env.get("AFTERGLOW_VAPID_PRIVATE_KEY") or None,
                vapid_subject=env.get("AFTERGLOW_VAPID_SUBJECT", "mailto:admin@localhost"),
                clinic_phone=env.get("AFTERGLOW_CLINIC_PHONE") or None,
                worker=_flag(env, "AFTERGLOW_WORKER", mode == "dev"),
                push_concurrency=_int(env, "AFTERGLOW_PUSH_CONCURRENCY", 32),
                push_timeout=float(env.get("AFTERGLOW_PUSH_TIMEOUT", "10")),
                push_lease_seconds=_int(env, "AFTERGLOW_PUSH_LEASE_SECONDS", 120),
                migrate_on_start=_flag(env, "AFTERGLOW_MIGRATE_ON_START", True),
                public_url=env.get("AFTERGLOW_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
                db_pool_size=_int(env, "AFTERGLOW_DB_POOL_SIZE", 10),
                db_timeout=float(env.get("AFTERGLOW_DB_TIMEOUT", "3")),
                patient_idle_days=_int(env, "AFTERGLOW_PATIENT_IDLE_DAYS", 30),
                patient_absolute_days=_int(env, "AFTERGLOW_PATIENT_ABSOLUTE_DAYS", 90),
                clinician_idle_minutes=_int(env, "AFTERGLOW_CLINICIAN_IDLE_MINUTES", 30),
                clinician_absolute_hours=_int(env, "AFTERGLOW_CLINICIAN_ABSOLUTE_HOURS", 12),
                log_level=env.get("AFTERGLOW_LOG_LEVEL", "INFO").upper(),
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from None


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw not in ("0", "1"):
        raise ConfigError(f"{name} must be 0 or 1, not {raw!r}")
    return raw == "1"


def _dev_secret(data_dir: Path) -> str:
    """A secret made once per data folder, so dev sessions survive restarts."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret
