"""Every message a person can be shown is in each language's catalogue (issue 18): the messages
are extracted from the tree as it is (babel.cfg: Python, the Jinja2 templates, the ES modules and
the service worker), and each must have a translation in every language that is not English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po

from server import i18n

ROOT = Path(__file__).resolve().parents[2]


def make_keywords() -> dict[str, Any]:
    """The keywords `make messages` extracts with (MESSAGE_KEYWORDS in the Makefile), besides
    babel's own: t("…") in the scripts, and the errors' sentences."""
    makefile = (ROOT / "Makefile").read_text()
    line = re.search(r"^MESSAGE_KEYWORDS := ((?:.*\\\n)*.*)$", makefile, re.MULTILINE)
    assert line, "MESSAGE_KEYWORDS in the Makefile"
    flags = re.findall(r"-k (\S+)", line.group(1))
    return {**DEFAULT_KEYWORDS, **parse_keywords(flags)}


KEYWORDS = make_keywords()
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")
SCRIPT_CALL = re.compile(r'(?<![\w.])t\("((?:[^"\\]|\\.)*)"')


def extracted() -> dict[str, list[str]]:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str, list[str]] = {}
    for path, line, message, *_ in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        text = message[0] if isinstance(message, tuple) else message
        found.setdefault(text, []).append(f"{path}:{line}")
    return found


def forms(text: str | tuple[str, ...] | None) -> tuple[str, ...]:
    """A translation's forms: one, or one per plural form (each must be there)."""
    if isinstance(text, tuple):
        return text
    return (text or "",)


def catalogue(language: str) -> Catalog:
    with i18n.po_path(language).open("rb") as po:
        return read_po(po, locale=language)


def test_every_message_is_translated() -> None:
    messages = extracted()
    assert len(messages) > 300  # the extraction found the tree
    for language in i18n.LANGUAGES:
        if language == i18n.DEFAULT:
            continue
        translated = catalogue(language)
        missing = []
        for message, where in messages.items():
            entry = translated.get(message)
            if entry is None or entry.fuzzy or not all(forms(entry.string)):
                missing.append(f"{message!r} ({', '.join(where[:2])})")
        assert not missing, f"untranslated in {language} (run `make messages`):\n" + "\n".join(
            missing
        )


def test_every_message_of_the_scripts_reaches_the_browser() -> None:
    """A t("…") the extractor cannot see (inside a template literal's ${…}) would stay English
    in the browser: each one in static/ must be in the browser's catalogue."""
    called = {
        match.group(1).encode().decode("unicode_escape").encode("latin-1").decode()
        for path in (ROOT / "static").rglob("*.js")
        for match in SCRIPT_CALL.finditer(path.read_text())
    }
    assert len(called) > 100
    for language in i18n.LANGUAGES:
        if language != i18n.DEFAULT:
            missing = called - set(i18n.browser_messages(language))
            assert not missing, f"not in /i18n/{language}.json: {sorted(missing)}"


def test_translations_keep_every_placeholder() -> None:
    for language in i18n.LANGUAGES:
        if language == i18n.DEFAULT:
            continue
        for entry in catalogue(language):
            if not entry.id:
                continue
            ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
            wanted = sorted(set(PLACEHOLDER.findall(ids[-1])))
            for text in forms(entry.string):
                if text:
                    assert sorted(set(PLACEHOLDER.findall(text))) == wanted, entry.id


def test_a_catalogue_translates() -> None:
    assert i18n.gettext("es", "How are you today?") == "¿Cómo estás hoy?"
    assert i18n.gettext("en", "How are you today?") == "How are you today?"
    assert i18n.gettext("fr", "How are you today?") == "How are you today?"
    assert i18n.negotiate("es-MX,es;q=0.9") == "es"
    assert i18n.negotiate("en-US,en;q=0.9,es;q=0.8") == "en"
    assert i18n.negotiate("de, es;q=0.5") == "es"
    assert i18n.negotiate("es;q=0, en;q=0.1") == "en"
    assert i18n.negotiate(None) == "en"
