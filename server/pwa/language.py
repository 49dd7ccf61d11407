"""Pages in their reader's language: Jinja2's i18n extension on our catalogues, the language of
each page request, and the browser's share of the catalogue (/i18n/<lang>.json).

The reader's language is, in order: ``?lang=`` (the service worker precaches the shell once per
language with it), the signed-in person's own (``users.language``), else the browser's
``Accept-Language``. A clinician's pages follow the clinician's language, whoever the patient.
"""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from litestar import Request, Response, get
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from server import i18n

AnyRequest = Request[Any, Any, Any]
# The service worker keeps what it precached per language; a page tells it which one it is.
LANGUAGE_HEADER = "Content-Language"


def reader_language(request: AnyRequest) -> i18n.Language:
    """The language a page for ``request`` is written in."""
    asked = i18n.known(request.query_params.get("lang"))
    if asked is not None:
        return asked
    user = request.scope.get("user")
    if user is not None:
        return i18n.known(getattr(user, "language", None)) or i18n.DEFAULT
    return i18n.negotiate(request.headers.get("accept-language"))


async def before_page(request: AnyRequest) -> None:
    """Every page request renders in its reader's language."""
    i18n.use(reader_language(request))


async def after_page(response: Response[Any]) -> Response[Any]:
    """Says the language it was written in. (No ``Vary``: pages are never stored by a shared
    cache, and the service worker's cache would refuse its own precache on ``Vary: Cookie``.)"""
    response.headers.setdefault(LANGUAGE_HEADER, i18n.current())
    return response


@pass_context
def _gettext(context: Context, message: str) -> str:
    return i18n.gettext(context.get("lang") or i18n.current(), message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return i18n.ngettext(context.get("lang") or i18n.current(), singular, plural, n)


def install(engine: JinjaTemplateEngine) -> None:
    """Jinja2's i18n extension (``_()``, ``{% trans %}``) reading the request's language, and
    ``current_language()`` for ``<html lang>``."""
    environment = engine.engine
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True
    )
    environment.policies["ext.i18n.trimmed"] = True
    environment.globals["current_language"] = i18n.current
    environment.globals["language_name"] = i18n.language_name
    i18n.load_all()


@get("/i18n/{name:str}", include_in_schema=False, cache=False)
async def browser_catalogue(name: FromPath[str]) -> Response[dict[str, str]]:
    """``/i18n/<lang>.json``: the messages of static/js and sw.js in that language (English:
    none, the ids are the text). Precached by the service worker with the shell."""
    language, dot_json, _ = name.partition(".json")
    known = i18n.known(language) if dot_json and not _ else None
    if known is None:
        raise NotFoundException()
    return Response(
        i18n.browser_messages(known),
        headers={"Cache-Control": "no-cache", LANGUAGE_HEADER: known},
    )


LANGUAGE_ROUTES = [browser_catalogue]
