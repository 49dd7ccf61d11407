"""TOTP second factors through the API, as an authenticator app and a script use them: enrolment
(secret, otpauth URI, first code, ten recovery codes), the two-step sign-in whose first step can
do nothing but the second, codes that work once, recovery codes, and wrong codes throttled."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from server import db
from server.security import SESSION_COOKIE
from tests.helpers.accounts import PASSWORD, register, unique_email
from tests.helpers.second_factor import (
    age_reauthentication,
    allow_codes_again,
    code_at,
    enrol,
    sign_in,
    step_now,
)
from tests.helpers.sharing import audit_rows


async def _patient_with_app(client_factory: Any) -> tuple[Any, str, str, list[str]]:
    """A patient with an authenticator app set up; (client, email, secret, recovery codes)."""
    client, email = client_factory(), unique_email()
    client.me = await register(client, email=email)
    secret, codes = await enrol(client)
    return client, email, secret, codes


async def test_enrolment_gives_a_secret_a_uri_and_ten_recovery_codes(patient: Any) -> None:
    begun = await patient.post("/api/v1/auth/mfa/totp")
    assert begun.status_code == 200, begun.text
    body = begun.json()
    assert set(body) == {"secret", "otpauth_uri"}
    secret = body["secret"]
    assert len(base64.b32decode(secret)) == 20
    uri = urlsplit(body["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["secret"] == [secret]
    assert unquote(uri.path) == f"/Afterglow:{patient.me['email']}"
    assert (await patient.get("/api/v1/auth/mfa")).json()["enrolling"] is True

    wrong = await patient.post("/api/v1/auth/mfa/totp/confirm", json={"code": "000000"})
    assert wrong.status_code == 400 and wrong.json()["field"] == "code"
    right = await patient.post(
        "/api/v1/auth/mfa/totp/confirm", json={"code": code_at(secret, step_now())}
    )
    assert right.status_code == 200, right.text
    codes = right.json()["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    status = (await patient.get("/api/v1/auth/mfa")).json()
    assert status == {
        "totp": True,
        "enrolling": False,
        "recovery_codes_left": 10,
        "required": False,
    }
    # A second app waits until the first is removed.
    assert (await patient.post("/api/v1/auth/mfa/totp")).status_code == 409


async def test_sign_in_stops_at_the_second_step_which_can_do_nothing_else(
    client_factory: Any,
) -> None:
    _, email, secret, _ = await _patient_with_app(client_factory)
    phone = client_factory()
    first = await sign_in(phone, email, PASSWORD)
    assert first.status_code == 200, first.text
    assert first.json() == {"mfa_required": True}  # no account details before the code
    waiting = phone.cookies[SESSION_COOKIE]

    for method, path in (
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/checkins"),
        ("GET", "/api/v1/me/export"),
        ("GET", "/api/v1/shares"),
        ("POST", "/api/v1/shares"),
        ("POST", "/api/v1/auth/mfa/totp"),
        ("DELETE", "/api/v1/auth/mfa/totp"),
        ("POST", "/api/v1/auth/password"),
        ("POST", "/api/v1/auth/reauthenticate"),
        ("DELETE", "/api/v1/me"),
    ):
        refused = await phone.request(method, path, json={} if method != "GET" else None)
        assert refused.status_code == 401, (method, path, refused.text)
    page = await phone.get("/settings")
    assert page.status_code in (302, 303) and page.headers["location"].startswith("/login")
    assert 'id="code-form" class="card" novalidate>' in (await phone.get("/login")).text

    verified = await phone.post(
        "/api/v1/auth/mfa/verify", json={"code": code_at(secret, step_now() + 1)}
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["email"] == email
    assert phone.cookies[SESSION_COOKIE] != waiting  # a new token
    assert (await phone.get("/api/v1/me")).status_code == 200
    stale = client_factory()
    stale.cookies.set(SESSION_COOKIE, waiting)
    assert (await stale.get("/api/v1/me")).status_code == 401


async def test_the_waiting_session_can_sign_out(client_factory: Any, pool: db.Pool) -> None:
    _, email, _, _ = await _patient_with_app(client_factory)
    phone = client_factory()
    assert (await sign_in(phone, email, PASSWORD)).json() == {"mfa_required": True}
    waiting = phone.cookies[SESSION_COOKIE]
    assert (await phone.post("/api/v1/auth/logout")).status_code == 204
    async with pool.acquire() as conn:
        left = await conn.fetchval(
            "SELECT count(*) FROM sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
            waiting,
        )
    assert left == 0


async def test_a_wrong_code_is_refused_and_in_the_access_log(
    client_factory: Any, pool: db.Pool
) -> None:
    patient, email, secret, _ = await _patient_with_app(client_factory)
    phone = client_factory()
    await sign_in(phone, email, PASSWORD)
    right = code_at(secret, step_now() + 1)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    refused = await phone.post("/api/v1/auth/mfa/verify", json={"code": wrong})
    assert refused.status_code == 401 and refused.json()["field"] == "code"
    assert (await phone.get("/api/v1/me")).status_code == 401
    assert (await phone.post("/api/v1/auth/mfa/verify", json={"code": right})).status_code == 200

    failed = await audit_rows(pool, patient.me["id"], "second_factor_failed")
    assert len(failed) == 1 and failed[0]["address"] == phone.address
    signed_in = await audit_rows(pool, patient.me["id"], "sign_in")
    assert signed_in[-1]["detail"] == {"second_factor": "totp"}


async def test_a_code_works_once(client_factory: Any) -> None:
    _, email, secret, _ = await _patient_with_app(client_factory)
    code = code_at(secret, step_now() + 1)
    phone, thief = client_factory(), client_factory()
    await sign_in(phone, email, PASSWORD)
    assert (await phone.post("/api/v1/auth/mfa/verify", json={"code": code})).status_code == 200
    # Someone who saw the code (over a shoulder, a phishing page) and knows the password.
    await sign_in(thief, email, PASSWORD)
    again = await thief.post("/api/v1/auth/mfa/verify", json={"code": code})
    assert again.status_code == 401
    # ... and an older code of the window is refused too: steps only go forward.
    older = await thief.post("/api/v1/auth/mfa/verify", json={"code": code_at(secret, step_now())})
    assert older.status_code == 401
    assert (await thief.get("/api/v1/me")).status_code == 401


async def test_a_recovery_code_works_once(client_factory: Any) -> None:
    _, email, _, codes = await _patient_with_app(client_factory)
    phone, laptop = client_factory(), client_factory()
    await sign_in(phone, email, PASSWORD)
    typed = codes[3].upper().replace("-", " ")  # as someone may type it from paper
    used = await phone.post("/api/v1/auth/mfa/verify", json={"code": typed})
    assert used.status_code == 200, used.text
    assert (await phone.get("/api/v1/auth/mfa")).json()["recovery_codes_left"] == 9

    await sign_in(laptop, email, PASSWORD)
    again = await laptop.post("/api/v1/auth/mfa/verify", json={"code": codes[3]})
    assert again.status_code == 401
    other = await laptop.post("/api/v1/auth/mfa/verify", json={"code": codes[4]})
    assert other.status_code == 200


async def test_wrong_codes_are_throttled_per_account(client_factory: Any, pool: db.Pool) -> None:
    patient, email, secret, _ = await _patient_with_app(client_factory)
    phone = client_factory()
    await sign_in(phone, email, PASSWORD)
    statuses = [
        (await phone.post("/api/v1/auth/mfa/verify", json={"code": "123456"})).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    await allow_codes_again(pool, patient.me["id"])
    blocked = await phone.post(
        "/api/v1/auth/mfa/verify", json={"code": code_at(secret, step_now())}
    )
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers


async def test_setting_up_an_app_ends_the_other_sessions(client_factory: Any) -> None:
    phone, laptop = client_factory(), client_factory()
    email = unique_email()
    await register(phone, email=email)
    await sign_in(laptop, email, PASSWORD)
    await enrol(phone)
    assert (await phone.get("/api/v1/me")).status_code == 200
    assert (await laptop.get("/api/v1/me")).status_code == 401  # signed in with a password alone


async def test_an_account_without_a_second_factor_signs_in_in_one_step(patient: Any) -> None:
    again = await sign_in(patient, patient.me["email"], PASSWORD)
    assert again.status_code == 200 and again.json()["id"] == patient.me["id"]
    verify = await patient.post("/api/v1/auth/mfa/verify", json={"code": "123456"})
    assert verify.status_code == 401  # no second step is waiting


async def test_a_patient_sets_up_an_app_on_the_setup_page(patient: Any, pool: db.Pool) -> None:
    page = await patient.get("/mfa/setup")
    assert page.status_code == 200 and "Set up an authenticator app" in page.text
    assert 'name="password"' not in page.text  # just signed up: no need to prove it again
    begun = await patient.post("/mfa/setup", data={})
    assert begun.status_code == 303 and begun.headers["location"] == "/mfa/setup"
    page = await patient.get("/mfa/setup")
    secret = re.search(r'<code id="totp-secret" class="secret">([A-Z2-7]+)</code>', page.text)
    assert secret is not None
    assert 'src="data:image/svg+xml' in page.text
    shown = await patient.post("/mfa/confirm", data={"code": code_at(secret[1], step_now())})
    assert shown.status_code == 200
    assert shown.text.count("<li><code>") == 10
    assert shown.headers["cache-control"] == "no-store"
    page = await patient.get("/mfa/setup")
    assert "Recovery codes left: 10." in page.text

    await age_reauthentication(pool, patient)
    page = await patient.get("/mfa/setup")
    assert 'name="password"' in page.text  # removing it asks for the password again
    refused = await patient.post("/mfa/remove", data={})
    assert refused.status_code == 403 and "Confirm it is you" in refused.text
    removed = await patient.post("/mfa/remove", data={"password": PASSWORD})
    assert removed.status_code == 303
    assert (await patient.get("/api/v1/auth/mfa")).json()["totp"] is False
