"""The languages Afterglow speaks, and the message catalogues that say it in each.

English is the source: every message id is the English text, so English needs no catalogue.
Each other language has ``server/locale/<lang>/LC_MESSAGES/messages.po`` (made with babel, see
the README's "Languages"); it is compiled in memory the first time it is used (the app loads
every catalogue at start, so a broken one stops it there), and no ``.mo`` file is kept.

A page is rendered in its reader's language: the signed-in person's own, else the browser's
``Accept-Language``. The pages' edge sets it for the request (:func:`use`) and the templates'
``_()`` read it (:func:`current`). Mail and push are written in the recipient's language, given
explicitly (:func:`gettext`).
"""

from __future__ import annotations

import gettext as gettext_module
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Literal, get_args

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

Language = Literal["en", "es"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT: Language = "en"
# Each language by its own name, as a chooser lists them.
LANGUAGE_NAMES: tuple[tuple[Language, str], ...] = (("en", "English"), ("es", "Español"))
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
CATALOGUE = "messages"
# Where the browser's messages come from: those go to static/js/i18n.js as JSON.
BROWSER_SOURCES = ("static/",)

_current: ContextVar[Language] = ContextVar("afterglow_language", default=DEFAULT)


def N_(message: str) -> str:
    """Mark a message for extraction without translating it here (constants, tables): it is
    translated where it is shown, in the reader's language."""
    return message


def known(value: str | None) -> Language | None:
    """``value`` if it is one of the languages, else None."""
    return value if value in LANGUAGES else None


def negotiate(accept_language: str | None) -> Language:
    """The best of our languages for an ``Accept-Language`` header (RFC 9110 §12.5.4): the
    highest-weighted one we speak, by its primary subtag (``es-US`` is Spanish); English
    otherwise."""
    best: tuple[float, int, Language] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        language = known(tag.strip().lower().split("-")[0])
        if language is None or weight <= 0:
            continue
        # Highest weight wins; among equals, the one the browser listed first.
        candidate = (weight, -position, language)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best else DEFAULT


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{CATALOGUE}.po"


@cache
def translations(language: Language) -> gettext_module.NullTranslations:
    """The compiled catalogue of ``language`` (English: the message ids themselves)."""
    if language == DEFAULT:
        return gettext_module.NullTranslations()
    with po_path(language).open("rb") as po:
        catalogue = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return gettext_module.GNUTranslations(compiled)


@cache
def browser_messages(language: Language) -> dict[str, str]:
    """The translated messages the browser's scripts use (static/js, sw.js), for
    static/js/i18n.js: only those, so a page does not load the server's catalogue."""
    if language == DEFAULT:
        return {}
    with po_path(language).open("rb") as po:
        catalogue = read_po(po, locale=language)
    found: dict[str, str] = {}
    for message in catalogue:
        if not isinstance(message.id, str) or not message.id or message.fuzzy:
            continue
        in_browser = any(path.startswith(BROWSER_SOURCES) for path, _ in message.locations)
        if in_browser and isinstance(message.string, str) and message.string:
            found[message.id] = message.string
    return found


def load_all() -> None:
    """Compile every catalogue now (at app start): a broken one stops the app there."""
    for language in LANGUAGES:
        translations(language)
        browser_messages(language)


def gettext(language: str, message: str) -> str:
    """``message`` in ``language`` (a language we do not speak reads English)."""
    return translations(known(language) or DEFAULT).gettext(message)


def ngettext(language: str, singular: str, plural: str, n: int) -> str:
    return translations(known(language) or DEFAULT).ngettext(singular, plural, n)


def language_name(language: str, reader: str | None = None) -> str:
    """The name of ``language`` in the reader's (this request's, unless given)."""
    names = {"en": N_("English"), "es": N_("Spanish")}
    return gettext(reader or current(), names.get(language, language))


def use(language: Language) -> None:
    """The language of what this request renders (set at the pages' edge)."""
    _current.set(language)


def current() -> Language:
    """The language of the request being rendered (English outside a request)."""
    return _current.get()
