"""RFC 9457 problem details: the one way any error leaves the app."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from server.errors import (
    DB_UNAVAILABLE,
    AppError,
    FieldError,
    Problem,
    field_error,
    problem_in,
    problem_of,
    title_of,
)
from server.i18n import N_, gettext, negotiate

log = logging.getLogger("afterglow.errors")

PROBLEM_JSON = "application/problem+json"


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        content=msgspec.json.encode(problem),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


_LITESTAR_BODY = (None, "data", "body")


def _field_errors(exc: ValidationException) -> list[FieldError]:
    errors = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        # Litestar moves a nested object's path into `key` (`side_effects[0]`).
        key = item.get("key")
        base = "" if key in _LITESTAR_BODY or " - at `$" in message else str(key)
        error = field_error(message, base)
        if not message or message == "'data'":
            error = FieldError(
                field=error.field, detail=N_("The request body must be a JSON object.")
            )
        errors.append(FieldError(field=error.field or "body", detail=error.detail))
    return errors


def reader_language(request: Request[Any, Any, Any]) -> str:
    """Who reads the problem: the signed-in person's language, else the browser's."""
    language = getattr(request.scope.get("user"), "language", None)
    return language or negotiate(request.headers.get("accept-language"))


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The problem response for ``exc``, its ``detail`` in the reader's language."""
    from server.security import request_state

    reader = reader_language(request)

    request_id = request_state(request.scope)["request_id"]
    while isinstance(exc, ExceptionGroup) and exc.exceptions:
        # Litestar resolves dependencies in a task group: a database outage while looking up
        # the session arrives wrapped. Answer for what actually happened.
        exc = exc.exceptions[0]
    if isinstance(exc, AppError):
        problem = problem_in(problem_of(exc), reader)
        return problem_response(
            msgspec.structs.replace(problem, detail=exc.detail_in(reader)), exc.headers
        )
    if isinstance(exc, ValidationException):
        errors = _field_errors(exc)
        if not errors:
            errors = [FieldError(field="body", detail=N_("The request body is not valid JSON."))]
        errors = [FieldError(field=e.field, detail=gettext(reader, e.detail)) for e in errors]
        first = errors[0]
        detail = f"{first.field}: {first.detail}" if first.field != "body" else first.detail
        return problem_response(
            Problem(
                title="Bad Request", status=400, detail=detail, field=first.field, errors=errors
            )
        )
    if isinstance(exc, HTTPException):
        status = exc.status_code
        detail = exc.detail if exc.detail and exc.detail != title_of(status) else _default(status)
        detail = gettext(reader, detail)
        field = "body" if status == 400 else None  # a body that did not even parse
        return problem_response(
            Problem(title=title_of(status), status=status, detail=detail, field=field),
            dict(exc.headers or {}),
        )
    if isinstance(exc, DB_UNAVAILABLE):
        log.warning("database unavailable: %s (request %s)", type(exc).__name__, request_id)
        return problem_response(
            Problem(
                title="Service Unavailable",
                status=503,
                request_id=request_id,
                detail=gettext(
                    reader, N_("The service is briefly unavailable. Nothing was lost; try again.")
                ),
            ),
            {"Retry-After": "5"},
        )
    _forget_rows(exc)
    log.exception("unhandled error (request %s)", request_id)
    return problem_response(
        Problem(
            title="Internal Server Error",
            status=HTTP_500_INTERNAL_SERVER_ERROR,
            request_id=request_id,
            detail=gettext(
                reader,
                N_("Something went wrong on our side. Quote request id {request_id} to support."),
            ).format(request_id=request_id),
        )
    )


def _forget_rows(exc: BaseException) -> None:
    """PostgreSQL's DETAIL quotes the values of the row or key at fault ("Failing row contains
    (…)": a note, an email), and asyncpg prints it with the error. The log keeps the error, its
    constraint and the traceback; the values are dropped, here and in every error it was
    raised from."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, asyncpg.PostgresError | asyncpg.InterfaceError):
            current.detail = None
        pending += [current.__cause__, current.__context__]


def _default(status: int) -> str:
    return {
        401: N_("Sign in first."),
        403: N_("This request is not allowed."),
        404: N_("Not found."),
        405: N_("This method is not allowed here."),
        413: N_("The request body is too large."),
        429: N_("Too many attempts. Wait a little and try again."),
    }.get(status, title_of(status) + ".")


# --- the OpenAPI document tells the truth about errors ---------------------------------------

_DOCUMENTED = {
    "400": "Invalid input; `field` names the offending value",
    "401": "Not signed in",
    "403": "Missing or invalid CSRF token, the wrong kind of account, or a step first: a second "
    "factor (`type` ending in `mfa-required`) or a re-authentication (`reauthentication-required`)",
    "404": "Not found, or not yours to see",
    "409": "Conflicts with what is stored",
    "413": "Body larger than 256 KiB",
    "422": "A value that parsed but cannot be (a language Afterglow does not speak, a reading "
    "no person could have); `field` names it",
    "429": "Too many attempts; see Retry-After",
    "503": "Database unavailable; see Retry-After",
}


def document_problems(schema: Any) -> None:
    """Replace litestar's generic error schema with ours on every operation of ``schema``."""
    from litestar.openapi.spec import (
        Components,
        OpenAPIMediaType,
        OpenAPIResponse,
        Reference,
        Schema,
    )
    from litestar.openapi.spec.enums import OpenAPIType

    string, integer = Schema(type=OpenAPIType.STRING), Schema(type=OpenAPIType.INTEGER)
    field_error = Schema(
        type=OpenAPIType.OBJECT,
        required=["field", "detail"],
        properties={"field": string, "detail": string},
    )
    problem = Schema(
        type=OpenAPIType.OBJECT,
        required=["title", "status", "detail"],
        properties={
            "type": string,
            "title": string,
            "status": integer,
            "detail": string,
            "field": string,
            "request_id": string,
            "errors": Schema(type=OpenAPIType.ARRAY, items=field_error),
        },
        description="RFC 9457 problem details",
    )
    schema.components = schema.components or Components()
    schema.components.schemas = schema.components.schemas or {}
    schema.components.schemas["Problem"] = problem
    content = {PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))}
    for path in (schema.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(path, method, None)
            if operation is None:
                continue
            responses = operation.responses or {}
            if "204" in responses:  # no body, whatever the handler's return annotation says
                responses["204"] = OpenAPIResponse(description="Done; no content")
            for code, description in _DOCUMENTED.items():
                responses[code] = OpenAPIResponse(description=description, content=content)
            if operation.request_body is not None:
                responses["415"] = OpenAPIResponse(
                    description="Body not sent as application/json", content=content
                )
            responses["500"] = OpenAPIResponse(
                description="Unexpected error, with a request id", content=content
            )
            operation.responses = responses
