"""Settings from environment variables.

Each setting is declared once in ``SETTINGS``: its variable (which also names the ``Settings``
field it fills), how its text is read, its default and its meaning. ``Settings.from_env`` reads
them by walking that list, the ``Settings`` field defaults are taken from it, and
``tests/unit/test_docs_and_config.py`` checks the README's settings table against it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, cast, get_args

import msgspec

Environment = Literal["dev", "test", "production"]

T = TypeVar("T")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


class Parser(msgspec.Struct, Generic[T], frozen=True):
    """How a variable's text becomes a value; ``read`` raises ValueError on text it refuses."""

    read: Callable[[str], T]
    expects: str  # completes "AFTERGLOW_X must be ..." when ``read`` refuses the text
    # Whether a blank variable counts as unset (integers and flags) or is read as given (text, and
    # floats, which refuse it).
    blank_is_unset: bool = False


def _environment(raw: str) -> Environment:
    if raw not in get_args(Environment):
        raise ValueError(raw)
    return cast(Environment, raw)


def _flag(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError(raw)
    return raw == "1"


def _optional(raw: str) -> str | None:
    return raw or None


TEXT = Parser(str, "text")
OPTIONAL_TEXT = Parser(_optional, "text")  # blank is None, the same as unset
PATH = Parser(Path, "a path")
URL = Parser(lambda raw: raw.rstrip("/"), "a URL")  # no trailing slash, so paths can be appended
LOG_LEVEL = Parser(str.upper, "a log level")
INT = Parser(int, "an integer", blank_is_unset=True)
FLOAT = Parser(float, "a number")
FLAG = Parser(_flag, "0 or 1", blank_is_unset=True)
ENVIRONMENT = Parser(_environment, "dev, test or production")


class Setting(msgspec.Struct, Generic[T], frozen=True):
    """One environment variable and the ``Settings`` field it fills.

    ``fallback`` is the text an unset variable stands for, so a default is read exactly like a
    value an operator sets, and the README shows that same text.
    """

    env: str
    parse: Parser[T]
    fallback: str
    meaning: str
    dev_fallback: str | None = None  # used instead of ``fallback`` when AFTERGLOW_ENV=dev
    required_in_production: bool = False
    shown: str | None = None  # the README's default, when the fallback text doesn't say it

    @property
    def field(self) -> str:
        """The ``Settings`` field: the variable's name without ``AFTERGLOW_``, in lower case."""
        return self.env.removeprefix("AFTERGLOW_").lower()

    @property
    def value(self) -> T:
        """The default outside dev: what ``Settings()`` holds for this field."""
        return self.parse.read(self.fallback)

    @property
    def default(self) -> str:
        """The default as the README's settings table shows it."""
        if self.shown is not None:
            return self.shown
        if self.value is None:
            return "(unset)"
        if self.dev_fallback is not None:
            return f"`{self.dev_fallback}` in dev, else `{self.fallback}`"
        return f"`{self.fallback}`"

    def read(self, environ: Mapping[str, str], dev: bool) -> T:
        raw = environ.get(self.env)
        if raw is None or (raw == "" and self.parse.blank_is_unset):
            raw = self.dev_fallback if dev and self.dev_fallback is not None else self.fallback
        try:
            return self.parse.read(raw)
        except ValueError:
            raise ConfigError(f"{self.env} must be {self.parse.expects}, not {raw!r}") from None


_MADE_IN_DEV = "dev: made once in the data dir"

# In the README's order. Columns: variable, parser, default (as the variable's text), meaning.
SETTINGS: tuple[Setting[Any], ...] = (
    Setting(
        "DATABASE_URL",
        OPTIONAL_TEXT,
        "",
        "PostgreSQL URL; unset starts an embedded PostgreSQL",
        required_in_production=True,
    ),
    Setting("AFTERGLOW_ENV", ENVIRONMENT, "dev", "`dev`, `test` or `production`"),
    Setting("AFTERGLOW_HOST", TEXT, "127.0.0.1", "address `serve` listens on"),
    Setting("AFTERGLOW_PORT", INT, "8000", "port `serve` listens on"),
    Setting("AFTERGLOW_DATA_DIR", PATH, "./var", "embedded database, dev secret key, VAPID keys"),
    Setting(
        "AFTERGLOW_SECRET_KEY",
        TEXT,  # blank counts as missing: see Settings.from_env
        "",
        "signs CSRF tokens",
        required_in_production=True,
        shown=_MADE_IN_DEV,
    ),
    Setting(
        "AFTERGLOW_VAPID_PRIVATE_KEY",
        OPTIONAL_TEXT,
        "",
        "VAPID private key, PEM or base64url",
        shown=_MADE_IN_DEV,  # by server.push.vapid, which also requires it in production
    ),
    Setting("AFTERGLOW_VAPID_SUBJECT", TEXT, "mailto:admin@localhost", "VAPID `sub` claim"),
    Setting(
        "AFTERGLOW_CLINIC_PHONE", OPTIONAL_TEXT, "", "clinic phone shown with crisis resources"
    ),
    Setting(
        "AFTERGLOW_WORKER",
        FLAG,
        "0",
        "`1`: `serve` also runs the reminder worker",
        dev_fallback="1",  # so a bare `make run` sends reminders too
    ),
    Setting(
        "AFTERGLOW_PUSH_CONCURRENCY", INT, "32", "pushes in flight at once per reminder worker"
    ),
    Setting("AFTERGLOW_PUSH_TIMEOUT", FLOAT, "10", "seconds to wait for a push service's answer"),
    Setting("AFTERGLOW_PUSH_LEASE_SECONDS", INT, "120", "a worker's hold on claimed reminders"),
    Setting(
        "AFTERGLOW_MIGRATE_ON_START", FLAG, "1", "`1`: `serve` applies pending migrations at start"
    ),
    Setting(
        "AFTERGLOW_PUBLIC_URL", URL, "http://127.0.0.1:8000", "external URL; https turns on HSTS"
    ),
    Setting("AFTERGLOW_DB_POOL_SIZE", INT, "10", "connections per app process"),
    Setting(
        "AFTERGLOW_DB_TIMEOUT", FLOAT, "3", "seconds before a database call gives up (then 503)"
    ),
    Setting("AFTERGLOW_PATIENT_IDLE_DAYS", INT, "30", "patient session idle expiry"),
    Setting("AFTERGLOW_PATIENT_ABSOLUTE_DAYS", INT, "90", "patient session absolute expiry"),
    Setting("AFTERGLOW_CLINICIAN_IDLE_MINUTES", INT, "30", "clinician session idle expiry"),
    Setting("AFTERGLOW_CLINICIAN_ABSOLUTE_HOURS", INT, "12", "clinician session absolute expiry"),
    Setting("AFTERGLOW_LOG_LEVEL", LOG_LEVEL, "INFO", "Python log level"),
)

_BY_FIELD: dict[str, Setting[Any]] = {setting.field: setting for setting in SETTINGS}


def _default(field: str) -> Any:
    """A field's default, taken from its declaration so it is written only there."""
    return _BY_FIELD[field].value


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The app's settings: ``from_env`` for the app, plain construction for tests and benches."""

    env: Environment = _default("env")
    database_url: str | None = _default("database_url")
    host: str = _default("host")
    port: int = _default("port")
    data_dir: Path = _default("data_dir")
    secret_key: str = _default("secret_key")
    vapid_private_key: str | None = _default("vapid_private_key")
    vapid_subject: str = _default("vapid_subject")
    clinic_phone: str | None = _default("clinic_phone")
    worker: bool = _default("worker")
    push_concurrency: int = _default("push_concurrency")
    push_timeout: float = _default("push_timeout")
    push_lease_seconds: int = _default("push_lease_seconds")
    migrate_on_start: bool = _default("migrate_on_start")
    public_url: str = _default("public_url")
    db_pool_size: int = _default("db_pool_size")
    db_timeout: float = _default("db_timeout")
    patient_idle_days: int = _default("patient_idle_days")
    patient_absolute_days: int = _default("patient_absolute_days")
    clinician_idle_minutes: int = _default("clinician_idle_minutes")
    clinician_absolute_hours: int = _default("clinician_absolute_hours")
    log_level: str = _default("log_level")

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def secure_cookies(self) -> bool:
        """Secure cookies everywhere but plain-http development and tests on loopback."""
        return self.https or self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        # The environment comes first: other defaults and requirements depend on it.
        mode = _BY_FIELD["env"].read(environ, dev=False)
        if mode == "production":
            missing = [
                s.env for s in SETTINGS if s.required_in_production and not environ.get(s.env)
            ]
            if missing:
                names = " and ".join(missing)
                raise ConfigError(f"{names} must be set when AFTERGLOW_ENV=production")
        values = {setting.field: setting.read(environ, dev=mode == "dev") for setting in SETTINGS}
        # Outside production a missing secret is made once in the data dir, so sessions survive
        # restarts.
        if not values["secret_key"]:
            values["secret_key"] = _dev_secret(values["data_dir"])
        return cls(**values)


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
