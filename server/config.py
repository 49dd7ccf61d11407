"""Settings from environment variables.

Each setting is declared once in ``SETTINGS``: its variable (which also names the ``Settings``
field it fills), how its text is read, its default and its meaning. ``Settings.from_env`` reads
them by walking that list, the ``Settings`` field defaults are taken from it, and
``tests/unit/test_docs_and_config.py`` checks the README's settings table against it.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from ipaddress import ip_network
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, cast, get_args
from urllib.parse import urlsplit

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


MfaPolicy = Literal["required", "optional"]


def _mfa_policy(raw: str) -> MfaPolicy:
    if raw not in get_args(MfaPolicy):
        raise ValueError(raw)
    return cast(MfaPolicy, raw)


def _flag(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError(raw)
    return raw == "1"


def _optional(raw: str) -> str | None:
    return raw or None


def _networks(raw: str) -> tuple[str, ...]:
    """IP addresses and networks, comma-separated, each in its one canonical form (`10.0.0.0/8`,
    `::1/128`). A network with host bits set is refused as a typo; names and `*` are not
    addresses."""
    return tuple(str(ip_network(part.strip())) for part in raw.split(",") if part.strip())


# A push service: a host name (or IP address) or `*.` and a domain, with an optional port.
_PUSH_SERVICE = re.compile(
    r"^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])"
    r"(:(?P<port>[0-9]{1,5}))?$"
)


def _push_services(raw: str) -> tuple[str, ...]:
    services = tuple(part.strip().lower() for part in raw.split(",") if part.strip())
    for service in services:
        found = _PUSH_SERVICE.match(service)
        if not found or not 0 < int(found["port"] or 443) < 65536:
            raise ValueError(service)
    return services


def _smtp_url(raw: str) -> str | None:
    """`smtp://host:port` (plain), `smtp+starttls://user:pass@host:587` (upgraded first, or
    nothing is sent), `smtps://user:pass@host:465` (TLS from the start); blank is unset."""
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("smtp", "smtp+starttls", "smtps") or not parts.hostname:
        raise ValueError(raw)
    _ = parts.port  # raises ValueError for a port that is not one
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(raw)
    return raw


def _mail_address(raw: str) -> str | None:
    """One plain address (it goes into a header): no display name, no spaces or line breaks."""
    if not raw:
        return None
    local, at, domain = raw.rpartition("@")
    if not (local and at and domain) or any(ch.isspace() or ch in '<>,;"' for ch in raw):
        raise ValueError(raw)
    return raw


def _display_name(raw: str) -> str:
    """A sender's name for the From header: printable, on one line."""
    if not raw.strip() or not raw.isprintable():
        raise ValueError(raw)
    return raw.strip()


TEXT = Parser(str, "text")
OPTIONAL_TEXT = Parser(_optional, "text")  # blank is None, the same as unset
PATH = Parser(Path, "a path")
URL = Parser(lambda raw: raw.rstrip("/"), "a URL")  # no trailing slash, so paths can be appended
LOG_LEVEL = Parser(str.upper, "a log level")
INT = Parser(int, "an integer", blank_is_unset=True)
FLOAT = Parser(float, "a number")
FLAG = Parser(_flag, "0 or 1", blank_is_unset=True)
ENVIRONMENT = Parser(_environment, "dev, test or production")
NETWORKS = Parser(_networks, "comma-separated IP addresses or networks (CIDR)")
PUSH_SERVICES = Parser(
    _push_services, "comma-separated host names (`*.` for a domain, `:port` optional)"
)
SMTP_URL = Parser(_smtp_url, "an smtp://, smtp+starttls:// or smtps:// URL with a host")
MAIL_ADDRESS = Parser(_mail_address, "one email address (name@example.org)")
DISPLAY_NAME = Parser(_display_name, "a name on one line")


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
    production_fallback: str | None = None  # ... and this one when AFTERGLOW_ENV=production
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
        if self.production_fallback is not None:
            return f"`{self.production_fallback}` in production, else `{self.fallback}`"
        return f"`{self.fallback}`"

    def fallback_in(self, mode: Environment | None) -> str:
        """The text an unset variable stands for in ``mode`` (None: not known yet)."""
        if mode == "dev" and self.dev_fallback is not None:
            return self.dev_fallback
        if mode == "production" and self.production_fallback is not None:
            return self.production_fallback
        return self.fallback

    def read(self, environ: Mapping[str, str], mode: Environment | None = None) -> T:
        raw = environ.get(self.env)
        if raw is None or (raw == "" and self.parse.blank_is_unset):
            raw = self.fallback_in(mode)
        try:
            return self.parse.read(raw)
        except ValueError:
            raise ConfigError(f"{self.env} must be {self.parse.expects}, not {raw!r}") from None


_MADE_IN_DEV = "dev: made once in the data dir"
SECRET_KEY_MIN_BYTES = 32  # what signs the CSRF tokens must not be guessable offline

# In the README's order. Columns: variable, parser, default (as the variable's text), meaning.
SETTINGS: tuple[Setting[Any], ...] = (
    Setting(
        "DATABASE_URL",
        OPTIONAL_TEXT,
        "",
        "PostgreSQL URL; unset starts an embedded PostgreSQL",
        required_in_production=True,
    ),
    Setting(
        "AFTERGLOW_APP_DATABASE_URL",
        OPTIONAL_TEXT,
        "",
        "URL app requests log in with, as `afterglow_app` (required in production)",
        # Checked where the app starts (server/db.py app_database_url), not here: the owner's URL
        # with the user swapped serves outside production.
        shown="`DATABASE_URL` as `afterglow_app` (not in production)",
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
        "AFTERGLOW_PUSH_SERVICES",
        PUSH_SERVICES,
        "fcm.googleapis.com,*.push.services.mozilla.com,*.push.apple.com,*.notify.windows.com",
        "hosts push endpoints may name (the worker connects to nothing else)",
    ),
    Setting(
        "AFTERGLOW_MIGRATE_ON_START", FLAG, "1", "`1`: `serve` applies pending migrations at start"
    ),
    Setting(
        "AFTERGLOW_PUBLIC_URL", URL, "http://127.0.0.1:8000", "external URL; https turns on HSTS"
    ),
    Setting(
        "AFTERGLOW_FORWARDED_ALLOW_IPS",
        NETWORKS,
        "",
        "proxies whose X-Forwarded-For is believed",
        shown="(none)",
    ),
    Setting(
        "AFTERGLOW_OPENAPI",
        FLAG,
        "1",
        "`1`: serve the OpenAPI document at /schema",
        production_fallback="0",  # the API's map is for developers, not for anyone who asks
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
    Setting(
        "AFTERGLOW_SMTP_URL",
        SMTP_URL,
        "",
        "the SMTP server mail goes through (required in production); unset: mail is kept and "
        "shown at /dev/mail",
    ),
    Setting(
        "AFTERGLOW_MAIL_FROM",
        MAIL_ADDRESS,
        "",
        "the address mail is sent from (required in production; else afterglow@localhost)",
    ),
    Setting(
        "AFTERGLOW_MAIL_DISPLAY_NAME", DISPLAY_NAME, "Afterglow", "the sender's name on every email"
    ),
    Setting(
        "AFTERGLOW_REQUIRE_VERIFIED_EMAIL",
        FLAG,
        "0",
        "`1`: a new account signs in only once its address is confirmed",
        production_fallback="1",  # dev and tests stay one step: sign up, signed in
    ),
    Setting(
        "AFTERGLOW_CLINICIAN_MFA",
        Parser(_mfa_policy, "required or optional"),
        "optional",
        "`required`: a clinician sees no patient data before setting up a second factor",
        production_fallback="required",  # dev and tests stay one step: the demo clinician
    ),
    Setting(
        "AFTERGLOW_CLINIC_ALERT_EMAIL",
        MAIL_ADDRESS,
        "",
        "the clinic's on-call address: an alert nobody acknowledged in time is mailed there",
    ),
    Setting(
        "AFTERGLOW_ALERT_ESCALATE_MINUTES",
        INT,
        "240",
        "minutes an alert may stay unacknowledged before it is escalated",
    ),
)

_BY_FIELD: dict[str, Setting[Any]] = {setting.field: setting for setting in SETTINGS}


def _default(field: str) -> Any:
    """A field's default, taken from its declaration so it is written only there."""
    return _BY_FIELD[field].value


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The app's settings: ``from_env`` for the app, plain construction for tests and benches."""

    env: Environment = _default("env")
    database_url: str | None = _default("database_url")
    app_database_url: str | None = _default("app_database_url")
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
    push_services: tuple[str, ...] = _default("push_services")
    migrate_on_start: bool = _default("migrate_on_start")
    public_url: str = _default("public_url")
    forwarded_allow_ips: tuple[str, ...] = _default("forwarded_allow_ips")
    openapi: bool = _default("openapi")
    db_pool_size: int = _default("db_pool_size")
    db_timeout: float = _default("db_timeout")
    patient_idle_days: int = _default("patient_idle_days")
    patient_absolute_days: int = _default("patient_absolute_days")
    clinician_idle_minutes: int = _default("clinician_idle_minutes")
    clinician_absolute_hours: int = _default("clinician_absolute_hours")
    log_level: str = _default("log_level")
    smtp_url: str | None = _default("smtp_url")
    mail_from: str | None = _default("mail_from")
    mail_display_name: str = _default("mail_display_name")
    require_verified_email: bool = _default("require_verified_email")
    clinician_mfa: MfaPolicy = _default("clinician_mfa")
    clinic_alert_email: str | None = _default("clinic_alert_email")
    alert_escalate_minutes: int = _default("alert_escalate_minutes")

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
        mode = _BY_FIELD["env"].read(environ)
        if mode == "production":
            missing = [
                s.env for s in SETTINGS if s.required_in_production and not environ.get(s.env)
            ]
            if missing:
                names = " and ".join(missing)
                raise ConfigError(f"{names} must be set when AFTERGLOW_ENV=production")
            if len(environ["AFTERGLOW_SECRET_KEY"].encode()) < SECRET_KEY_MIN_BYTES:
                raise ConfigError(
                    f"AFTERGLOW_SECRET_KEY must be at least {SECRET_KEY_MIN_BYTES} bytes when "
                    "AFTERGLOW_ENV=production (e.g. python -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))')"
                )
        values = {setting.field: setting.read(environ, mode) for setting in SETTINGS}
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
