"""The errors every layer raises. No HTTP here: ``problems.py`` renders them as RFC 9457.

Each carries a status a client can act on, a sentence a person can read and, for bad input, the
path of the offending field (``side_effects[0].severity``, ``changes[3].data.mood``).
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any, TypeVar, get_args

import asyncpg
import msgspec

from server.i18n import DEFAULT, N_, gettext, ngettext

T = TypeVar("T")


# What asyncpg raises when the server is down, restarting or unreachable. Requests that hit one
# of these answer 503; the pool replaces broken connections on its own, so the app recovers.
DB_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,
    # A connection left mid-operation when the server vanished: its protocol state is unknown.
    asyncpg.exceptions._base.InternalClientError,
)


# Where the problem types of our own live: a client tells them apart by the URI's last segment.
PROBLEM_TYPES = "https://afterglow.example/problems/"


class AppError(Exception):
    """An error a client can act on. Raise it anywhere below the HTTP layer."""

    status = 400
    type = "about:blank"  # RFC 9457: no more to say than the status

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.headers = headers or {}
        if status is not None:
            self.status = status

    def detail_in(self, language: str) -> str:
        """``detail`` as its reader reads it (English when the catalogue lacks it)."""
        return gettext(language, self.detail)


class InvalidField(AppError):
    """A value that parsed but breaks a rule (a date in the future, a duplicate code, ...)."""

    status = 400

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail, field=field)


class NotSignedIn(AppError):
    status = 401

    def __init__(self, detail: str = N_("Sign in first.")) -> None:
        super().__init__(detail)


class Forbidden(AppError):
    status = 403
    said = ""  # the sentence of a subclass that always says the same

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.said)


class NotFound(AppError):
    status = 404

    def __init__(self, detail: str = N_("Not found."), *, field: str | None = None) -> None:
        super().__init__(detail, field=field)


class SecondFactorRequired(Forbidden):
    """A clinician without a second factor where AFTERGLOW_CLINICIAN_MFA=required: no patient
    data until they set one up."""

    type = PROBLEM_TYPES + "mfa-required"
    said = N_(
        "Set up a second factor (an authenticator app) before you open patient data: "
        "go to /mfa/setup."
    )


class ReauthenticationRequired(Forbidden):
    """A step that asks its owner to prove who they are again (services/reauthentication.py)."""

    type = PROBLEM_TYPES + "reauthentication-required"
    said = N_(
        "Confirm it is you first: enter your password (or a code from your authenticator "
        "app) again."
    )


class Conflict(AppError):
    status = 409


class TooManyAttempts(AppError):
    """429; ``retry_after`` seconds go out as the Retry-After header, and the detail ends with
    the wait in words, in the reader's language (``reason`` is the catalogue's message)."""

    status = 429

    def __init__(self, reason: str, *, retry_after: int) -> None:
        super().__init__(
            f"{reason} {wait_in_words(DEFAULT, retry_after)}",
            headers={"Retry-After": str(retry_after)},
        )
        self.reason = reason
        self.retry_after = retry_after
        self.more: tuple[str, ...] = ()

    def also(self, message: str) -> None:
        """Add a sentence after the wait (a catalogue message too)."""
        self.more = (*self.more, message)
        self.detail = f"{self.detail} {message}"

    def detail_in(self, language: str) -> str:
        words = [gettext(language, self.reason), wait_in_words(language, self.retry_after)]
        return " ".join([*words, *(gettext(language, m) for m in self.more)])


def wait_in_words(language: str, seconds: int) -> str:
    """A wait as a person reads it: "Try again in 30 seconds.", "... in 15 minutes."."""
    if seconds < 60:
        return ngettext(
            language, "Try again in {n} second.", "Try again in {n} seconds.", seconds
        ).format(n=seconds)
    minutes = -(-seconds // 60)
    return ngettext(
        language, "Try again in {n} minute.", "Try again in {n} minutes.", minutes
    ).format(n=minutes)


class FieldError(msgspec.Struct, frozen=True):
    field: str
    detail: str


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details, as every error leaves the app (server/problems.py), and as a
    rejected change inside a sync answer."""

    title: str
    status: int
    detail: str
    type: str = "about:blank"
    field: str | None = None
    errors: list[FieldError] | None = None
    request_id: str | None = None


def problem_in(problem: Problem, language: str) -> Problem:
    """``problem`` as its reader reads it: each ``detail`` in their language when the catalogue
    has it (a message made of values, or msgspec's own words, stays as written)."""
    if language == DEFAULT:
        return problem
    errors = problem.errors and [
        FieldError(field=e.field, detail=gettext(language, e.detail)) for e in problem.errors
    ]
    return msgspec.structs.replace(problem, detail=gettext(language, problem.detail), errors=errors)


def problem_of(exc: AppError) -> Problem:
    return Problem(
        title=title_of(exc.status),
        status=exc.status,
        detail=exc.detail,
        type=exc.type,
        field=exc.field,
    )


def title_of(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# msgspec says "Expected `int`, got `str` - at `$.side_effects[0].severity`", or names the field
# itself ("Object missing required field `mood`").
_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_NAMED = re.compile(r"^Object (missing required|contains unknown) field `([^`]*)`")
_HUMANE = {
    "missing required": N_("This field is required."),
    "contains unknown": N_("This field is not allowed."),
}


def field_error(message: str, base: str = "") -> FieldError:
    """The one reading of a msgspec validation message: the field's full path and a sentence.

    ``base`` is where the validated value sits in the request (``changes[3].data``), joined to
    the path msgspec reports inside it.
    """
    path = ""
    at = _AT_PATH.search(message)
    if at:
        path, message = at.group(1), message[: at.start()]
    named = _NAMED.match(message)
    if named:
        path = f"{path}.{named.group(2)}" if path else named.group(2)
        message = _HUMANE[named.group(1)]
    if base:
        path = f"{base}{path}" if path.startswith("[") else f"{base}.{path}" if path else base
    return FieldError(field=path, detail=message.rstrip(".") + ".")


def convert(value: object, kind: type[T], field: str, *, strict: bool = True) -> T:
    """msgspec's conversion of a part of a body left as plain JSON (a change sent to /sync), its
    errors named by their full path: the rules of a body decoded whole (server/inbound.py), so
    ``"7"`` is not a number and NUL is refused. ``strict=False`` for text by nature (a query
    parameter)."""
    if b"\\u0000" in msgspec.json.encode(value):  # a scan in C; the walk only when needed
        refuse_nul(value, field)
    try:
        return msgspec.convert(value, kind, strict=strict)
    except msgspec.ValidationError as exc:
        error = field_error(str(exc), field)
        raise InvalidField(error.field, error.detail) from None


def refuse_nul(value: object, base: str = "") -> None:
    """No NUL in any string of a decoded value: PostgreSQL text cannot hold one, so it would
    fail deep in a query. Parts a Struct declares ``Any`` are left to ``convert``."""
    where = _nul_at(value, base)
    if where is not None:
        raise InvalidField(where or "body", "Text may not contain the NUL character (\\u0000).")


def _nul_at(value: object, base: str) -> str | None:
    stack = [(base, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path
        elif isinstance(item, dict):
            for key, inner in item.items():
                where = _join(path, str(key))
                if "\x00" in str(key):
                    return where
                stack.append((where, inner))
        elif isinstance(item, list | tuple):
            stack.extend((f"{path}[{n}]", inner) for n, inner in enumerate(item))
        elif isinstance(item, msgspec.Struct):
            stack.extend(
                (_join(path, field.encode_name), getattr(item, field.name))
                for field in msgspec.structs.fields(item)
                if not _holds_any(field.type)
            )
    return None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _holds_any(kind: Any) -> bool:
    return kind is Any or any(_holds_any(arg) for arg in get_args(kind))
