"""`demo-data` says how the demo clinician signs in: with the password alone where a second
factor is optional (dev), and with the key it prints for an authenticator app where it is
required, so a newcomer can look at the clinician pages in a minute either way."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import msgspec
import pyotp
import pytest
from litestar import Litestar

from server import demo
from server.app import create_app
from server.config import Settings
from tests.helpers.app import running
from tests.helpers.client import Client


@pytest.fixture(scope="module")
async def strict_app(settings: Settings) -> AsyncIterator[Litestar]:
    strict = msgspec.structs.replace(settings, clinician_mfa="required")
    async with running(create_app(strict)) as application:
        yield application


async def _sign_in(client: Client) -> dict[str, object]:
    response = await client.post(
        "/api/v1/auth/login",
        json={"email": demo.CLINICIAN_EMAIL, "password": demo.DEMO_PASSWORD},
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_where_optional_the_demo_clinician_signs_in_with_the_password(
    settings: Settings, app: Litestar, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await demo.run(settings) == 0
    assert "the clinician signs in with the password alone" in capsys.readouterr().out
    clinician = Client(app)
    assert (await _sign_in(clinician))["email"] == demo.CLINICIAN_EMAIL
    assert (await clinician.get("/api/v1/clinician/patients")).status_code == 200


async def test_where_required_the_demo_prints_the_key_of_the_clinicians_app(
    settings: Settings, strict_app: Litestar, capsys: pytest.CaptureFixture[str]
) -> None:
    strict = msgspec.structs.replace(settings, clinician_mfa="required")
    assert await demo.run(strict) == 0
    printed = capsys.readouterr().out
    key = re.search(r"^  ([A-Z2-7]{32})$", printed, re.MULTILINE)
    assert key is not None, printed

    clinician = Client(strict_app)
    assert await _sign_in(clinician) == {"mfa_required": True}
    code = pyotp.TOTP(key.group(1)).now()
    assert (await clinician.post("/api/v1/auth/mfa/verify", json={"code": code})).status_code == 200
    assert (await clinician.get("/api/v1/clinician/patients")).status_code == 200
