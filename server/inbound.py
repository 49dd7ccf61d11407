"""What a client sends, as a handler receives it: the one place request bodies and query strings
are read.

Litestar decodes a JSON body to plain values and then converts them to the handler's ``data``
type leniently, so ``"mood": "7"`` would be stored as 7. Here the body is decoded straight into
that type in msgspec's strict mode: a value of the wrong JSON type is refused like any invalid
field (400 naming it), while times, days and ids still decode from their JSON strings. JSON
nested deeper than the decoder's stack is a 400 rather than a RecursionError, and NUL, which
PostgreSQL text cannot hold, is refused in every string of a body or a query string.

Query and path parameters are text by nature and stay lenient (Litestar parses them). Parts of a
body declared ``Any`` (each change sent to /sync) are decoded later by ``server.errors.convert``
under the same rules, so one bad change is rejected alone.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, ValidationException

from server.errors import refuse_nul

_ESCAPED_NUL = b"\\u0000"  # JSON text can carry NUL only escaped: msgspec refuses a raw one


class InboundRequest(Request[Any, Any, Any]):
    """The app's request class (server/app.py): ``json()`` is the body as the handler's
    ``data`` parameter declares it."""

    async def json(self) -> Any:
        body = await self.body()
        parameter = self.route_handler.parsed_fn_signature.parameters.get("data")
        kind = Any if parameter is None else parameter.annotation
        try:
            value = _decoder(kind).decode(body or b"null")
        except msgspec.ValidationError as exc:
            # What Litestar raises for a body that does not fit, so it reads like every other
            # invalid field (server/problems.py).
            raise ValidationException(
                "The request body does not fit.", extra=[{"message": str(exc), "key": "data"}]
            ) from None
        except msgspec.DecodeError as exc:
            raise ClientException(str(exc)) from None
        except RecursionError:
            raise ClientException("The request body is nested too deeply.") from None
        if _ESCAPED_NUL in body:
            refuse_nul(value)
        return value


def refuse_nul_in_query(request: Request[Any, Any, Any]) -> None:
    """The app's ``before_request`` hook: no NUL in a query parameter's name or value."""
    for name, value in request.query_params.multi_items():
        refuse_nul(value, name)
        refuse_nul(name, name)


@cache
def _decoder(kind: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(kind, strict=True)
