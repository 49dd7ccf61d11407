"""What every HTTP handler shares, JSON API and pages alike: the injected dependencies, the base
of request bodies (and the check that a JSON body is sent as JSON), and the guards that say who
may call a route.

Handlers never check roles themselves: a router or controller lists its guard, and a handler
reads the ``user`` it is given (``request.user``, set by ``security.authentication_middleware``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.handlers.base import BaseRouteHandler
from litestar.params import JSONBody

from server.config import Settings
from server.domain.accounts import Role, User
from server.errors import AppError, Forbidden, NotSignedIn
from server.services import Pool

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


def signed_in(connection: Connection, _: BaseRouteHandler) -> None:
    if connection.user is None:
        raise NotSignedIn()


def _only(connection: Connection, role: Role) -> None:
    user: User | None = connection.user
    if user is None:
        raise NotSignedIn()
    if user.role != role:
        raise WrongRole(f"Only a {role} account can do this.", user.role)


def patients_only(connection: Connection, _: BaseRouteHandler) -> None:
    _only(connection, "patient")


def clinicians_only(connection: Connection, _: BaseRouteHandler) -> None:
    _only(connection, "clinician")


def provide_user(request: Request[Any, Any, Any]) -> User:
    """The ``user`` dependency: whoever the guard let through."""
    user: User | None = request.user
    if user is None:  # a route that takes `user` without a guard
        raise NotSignedIn()
    return user


def client_address(connection: Connection) -> str:
    return connection.client.host if connection.client else "unknown"
