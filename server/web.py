"""What every HTTP handler shares, JSON API and pages alike: the injected dependencies, the base
of request bodies (and the check that a JSON body is sent as JSON), and the guards that say who
may call a route.

Handlers never check roles themselves: a router or controller lists its guard, and a handler
reads the ``user`` it is given (``request.user``, set by ``security.authentication_middleware``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.handlers.base import BaseRouteHandler
from litestar.params import JSONBody

from server.config import Settings
from server.domain.accounts import Role, SessionState, User
from server.errors import AppError, Forbidden, NotSignedIn, SecondFactorRequired
from server.services import Pool
from server.services.sessions import SessionKey

# Handler parameters named `pool`, `settings` and `user` are injected by name (see app.py).
DbPool = NamedDependency[Pool]
AppSettings = NamedDependency[Settings]
CurrentUser = NamedDependency[User]
Connection = ASGIConnection[Any, Any, Any, Any]
__all__ = ["AppSettings", "CurrentUser", "DbPool", "Input", "JSONBody"]


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are rejected, not ignored."""


def json_bodies_only(request: Request[Any, Any, Any]) -> None:
    """A ``before_request`` hook: a handler that reads a JSON body is sent nothing but
    ``application/json``. Litestar would parse any body as JSON whatever its type, so a
    cross-site form (``text/plain``, url-encoded, multipart) could pass for an API call. Form
    posts to the pages declare a form body and are not affected; a request without a body (a
    body may be optional) has no type to check."""
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return
    encoding = getattr(data.kwarg_definition, "media_type", RequestEncodingType.JSON)
    sends_body = request.headers.get("content-length", "0") != "0" or (
        "transfer-encoding" in request.headers
    )
    sent_as = request.content_type[0]
    if encoding == RequestEncodingType.JSON and sends_body and sent_as != RequestEncodingType.JSON:
        raise AppError(
            "Send the body as JSON, with Content-Type: application/json.", field="body", status=415
        )


class WrongRole(Forbidden):
    """Signed in, but as the other kind of account. Pages send such a visitor to their own home;
    the JSON API answers 403."""

    def __init__(self, detail: str, role: Role) -> None:
        super().__init__(detail)
        self.role = role


# Guards are coroutines: Litestar runs a plain function in a worker thread, a thread hop on
# every request. Each check reads the request's session; where the request's first statement
# opens it (db.SessionKey, the one-round-trip routes), the check runs on the session as that
# statement found it, before anything the statement did is used.


def _guard(connection: Connection, check: Callable[[SessionState | None], Any]) -> None:
    auth = connection.auth
    if isinstance(auth, SessionKey):
        auth.checks.append(check)
    else:
        check(auth)


def _signed_in(state: SessionState | None) -> User:
    if state is None:
        raise NotSignedIn()
    if state.second_factor_pending:
        raise NotSignedIn(
            "Finish signing in: enter the code from your authenticator app "
            "(POST /api/v1/auth/mfa/verify)."
        )
    return state.user


def _second_factor_if_required(settings: Settings, state: SessionState | None, user: User) -> None:
    """A clinician opens every patient who shares with them: where AFTERGLOW_CLINICIAN_MFA is
    `required`, not before their account has a second factor (a session of such an account got
    past it at sign-in, migrations/0017)."""
    if user.role != "clinician" or settings.clinician_mfa != "required":
        return
    if state is None or not state.second_factor:
        raise SecondFactorRequired()


def _only(state: SessionState | None, role: Role) -> User:
    user = _signed_in(state)
    if user.role != role:
        raise WrongRole(f"Only a {role} account can do this.", user.role)
    return user


async def signed_in(connection: Connection, _: BaseRouteHandler) -> None:
    _guard(connection, _signed_in)


async def patients_only(connection: Connection, _: BaseRouteHandler) -> None:
    _guard(connection, lambda state: _only(state, "patient"))


async def clinicians_only(connection: Connection, _: BaseRouteHandler) -> None:
    """Every clinician route is about their patients: the second factor where required, too."""
    settings: Settings = connection.app.state.settings
    _guard(
        connection,
        lambda state: _second_factor_if_required(settings, state, _only(state, "clinician")),
    )


async def patient_data(connection: Connection, _: BaseRouteHandler) -> None:
    """Routes of a patient's data that the patient and their clinicians share (the access check
    then says whose): signed in, and a clinician with a second factor where it is required."""
    settings: Settings = connection.app.state.settings
    _guard(
        connection,
        lambda state: _second_factor_if_required(settings, state, _signed_in(state)),
    )


def provide_user(request: Request[Any, Any, Any]) -> User:
    """The ``user`` dependency: whoever the guard let through."""
    user: User | None = request.user
    if user is None:  # a route that takes `user` without a guard
        raise NotSignedIn()
    return user


def client_address(connection: Connection) -> str:
    return connection.client.host if connection.client else "unknown"
