"""What each email says (server/domain/mail.py), without a database: nothing about health in
any of them, a link's token only after `#`, and the SMTP URL read as documented."""

from __future__ import annotations

import pytest

from server.domain.mail import KINDS, health_words, letter
from server.push.mailer import SmtpServer, smtp_server

BASE = "https://app.clinic.example"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_no_email_says_anything_about_health(kind: str) -> None:
    what = KINDS[kind]
    made = letter(
        what.name, sender="Afterglow", base_url=BASE, token="T0KEN" if what.link else None
    )
    for text in (made.subject, made.body):
        assert health_words(text) == []
        assert "T0KEN" not in text or "#token=T0KEN" in text
    assert made.body.rstrip().endswith("— Afterglow")


def test_links_carry_their_token_after_the_hash_and_live_as_long_as_promised() -> None:
    reset = letter("password_reset", sender="Afterglow", base_url=BASE, token="abc")
    assert f"{BASE}/reset#token=abc" in reset.body and "30 minutes" in reset.body
    verify = letter("verify_email", sender="Afterglow", base_url=BASE, token="abc")
    assert f"{BASE}/verify#token=abc" in verify.body and "24 hours" in verify.body
    assert KINDS["password_reset"].link_lifetime == KINDS["password_reset"].stale_after


@pytest.mark.parametrize(
    "text",
    [
        "Ketamine Clinic",
        "your mood today",
        "PHQ-9 score",
        "infusions",
        "Depressed?",
        "dissociation",
    ],
)
def test_health_words_are_found_in_any_case_and_form(text: str) -> None:
    assert health_words(text)


def test_a_random_token_is_no_health_word() -> None:
    # Seen in CI: a reset link's token held "PHQ" by chance, and the mail check refused it.
    token = "ynokBUDWPHdGAKaJkJ2HCUh94emVRVnO6PHQdz94AZE"
    assert health_words(f"open this link: {BASE}/reset#token={token}") == []
    assert health_words(f"your mood: {BASE}/reset#token={token}") == ["mood"]


def test_the_smtp_url_says_where_and_how_to_send() -> None:
    assert smtp_server("smtp://127.0.0.1:2525") == SmtpServer(
        hostname="127.0.0.1", port=2525, use_tls=False, start_tls=False
    )
    assert smtp_server("smtp+starttls://me%40clinic:p%3Ass@mail.example.org") == SmtpServer(
        hostname="mail.example.org",
        port=587,
        use_tls=False,
        start_tls=True,
        username="me@clinic",
        password="p:ss",
    )
    assert smtp_server("smtps://u:p@mail.example.org").port == 465
    assert smtp_server("smtps://u:p@mail.example.org").use_tls


def test_the_day_before_email_opens_the_day_before_checklist() -> None:
    tomorrow = letter("reminder_session_tomorrow", sender="Afterglow", base_url=BASE)
    assert f"{BASE}/day-before\n" in tomorrow.body and "/?sessions" not in tomorrow.body
    home = letter("reminder_home_safely", sender="Afterglow", base_url=BASE)
    assert f"{BASE}/day-before?home" in home.body and "safely" not in home.body
