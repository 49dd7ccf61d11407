"""What a page shows once after a redirect (server/pwa/flash.py): sealed for one account, good
for a minute, unreadable and unforgeable without the secret key."""

from __future__ import annotations

import base64
import uuid
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest

from server.config import Settings
from server.pwa import flash

ACCOUNT = uuid.uuid4()


class Note(msgspec.Struct, frozen=True):
    code: str


def settings(key: str = "k" * 40) -> Settings:
    return Settings(env="test", secret_key=key)


def carrying(value: str) -> Any:
    return SimpleNamespace(cookies={flash.COOKIE: value})


def sealed(key: str = "k" * 40) -> str:
    return flash.seal(settings(key), ACCOUNT, "/sharing", Note("ABCD-EFGH-JK")).value or ""


def test_the_account_it_was_sealed_for_opens_it_and_nobody_else() -> None:
    value = sealed()
    assert "ABCD" not in value
    assert flash.take(carrying(value), settings(), ACCOUNT, Note) == Note("ABCD-EFGH-JK")
    assert flash.take(carrying(value), settings(), uuid.uuid4(), Note) is None
    assert flash.take(carrying(value), settings("x" * 40), ACCOUNT, Note) is None


def test_a_tampered_or_foreign_value_opens_to_nothing() -> None:
    raw = bytearray(base64.urlsafe_b64decode(sealed()))
    raw[-1] ^= 1
    for value in (base64.urlsafe_b64encode(bytes(raw)).decode(), "not base64 !", "AAAA", ""):
        assert flash.take(carrying(value), settings(), ACCOUNT, Note) is None


def test_it_is_good_for_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    value = sealed()
    later = flash.time.time() + flash.LIFETIME_SECONDS + 1
    monkeypatch.setattr(flash.time, "time", lambda: later)
    assert flash.take(carrying(value), settings(), ACCOUNT, Note) is None


def test_the_cookie_stays_on_its_page_out_of_scripts_reach() -> None:
    cookie = flash.seal(settings(), ACCOUNT, "/sharing", Note("x"))
    assert (cookie.path, cookie.httponly, cookie.max_age) == ("/sharing", True, 60)
    assert flash.cleared(settings(), "/sharing").max_age == 0
