"""AFTERGLOW_CLINICIAN_MFA=required (production's default): a clinician without a second factor
opens no patient data, on any endpoint or page, until they set one up; then their sign-in has
two steps. The demo's dev and test default (optional) keeps one step."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from litestar import Litestar

from server import db
from server.app import create_app
from server.config import Settings
from tests.helpers.accounts import PASSWORD, make_clinician, register
from tests.helpers.app import running
from tests.helpers.client import Client
from tests.helpers.second_factor import code_at, enrol, sign_in, step_now
from tests.helpers.sharing import make_code


@pytest.fixture(scope="module")
async def strict_app(settings: Settings) -> AsyncIterator[Litestar]:
    """The app as production runs it: AFTERGLOW_CLINICIAN_MFA=required."""
    strict = msgspec.structs.replace(settings, clinician_mfa="required")
    async with running(create_app(strict)) as application:
        yield application


def _patient_data(patient_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every endpoint of a patient's data a clinician calls, with a body where one is sent."""
    infusion = {
        "scheduled_at": datetime.now(UTC).isoformat(),
        "duration_minutes": 40,
        "status": "planned",
    }
    return [
        ("GET", "/api/v1/clinician/patients", None),
        ("GET", f"/api/v1/patients/{patient_id}/summary", None),
        ("GET", f"/api/v1/patients/{patient_id}/export.csv", None),
        ("GET", f"/api/v1/patients/{patient_id}/export.fhir", None),
        ("GET", f"/api/v1/patients/{patient_id}/infusions", None),
        ("PUT", f"/api/v1/patients/{patient_id}/infusions/{uuid.uuid4()}", infusion),
        ("GET", "/api/v1/shares", None),
        ("POST", "/api/v1/shares/accept", {"code": "ABCD-EFGH-JK"}),
    ]


async def _sharing_patient(app: Litestar, pool: db.Pool, clinician_id: str) -> str:
    """A patient with an active share with the clinician (accepted as the owner, since the
    clinician may not accept one yet)."""
    patient = Client(app)
    patient.me = await register(patient)  # type: ignore[attr-defined]
    code = await make_code(patient)
    async with db.transaction(pool) as conn:
        await conn.execute(
            "UPDATE shares SET clinician_id = $2, accepted_at = now() WHERE id = $1",
            uuid.UUID(code["id"]),
            uuid.UUID(clinician_id),
        )
    return str(patient.me["id"])  # type: ignore[attr-defined]


async def test_no_patient_data_before_a_second_factor(strict_app: Litestar, pool: db.Pool) -> None:
    clinician = Client(strict_app)
    me = await make_clinician(pool, clinician)  # signs in with the password: one step, no factor
    patient_id = await _sharing_patient(strict_app, pool, me["id"])

    for method, path, body in _patient_data(patient_id):
        refused = await clinician.request(method, path, json=body)
        assert refused.status_code == 403, (method, path, refused.text)
        problem = refused.json()
        assert problem["type"].endswith("/mfa-required"), (method, path, problem)
        assert "/mfa/setup" in problem["detail"]
    # What is not patient data stays open: who they are, and setting up the factor.
    assert (await clinician.get("/api/v1/me")).status_code == 200
    assert (await clinician.get("/api/v1/auth/mfa")).json()["required"] is True

    for page in ("/clinician", f"/clinician/patients/{patient_id}", "/clinician/accept"):
        sent = await clinician.get(page)
        assert sent.status_code in (302, 303), page
        assert sent.headers["location"] == "/mfa/setup", page
    setup = await clinician.get("/mfa/setup")
    assert setup.status_code == 200 and "Your clinic asks every clinician" in setup.text

    await enrol(clinician)
    for method, path, body in _patient_data(patient_id)[:-1]:
        allowed = await clinician.request(method, path, json=body)
        assert allowed.status_code in (200, 201), (method, path, allowed.text)
    assert (await clinician.get(f"/clinician/patients/{patient_id}")).status_code == 200


async def test_with_a_second_factor_a_clinician_signs_in_in_two_steps(
    strict_app: Litestar, pool: db.Pool
) -> None:
    clinician = Client(strict_app)
    me = await make_clinician(pool, clinician)
    secret, _ = await enrol(clinician)
    laptop = Client(strict_app)
    assert (await sign_in(laptop, me["email"], PASSWORD)).json() == {"mfa_required": True}
    assert (await laptop.get("/api/v1/clinician/patients")).status_code == 401
    verified = await laptop.post(
        "/api/v1/auth/mfa/verify", json={"code": code_at(secret, step_now() + 1)}
    )
    assert verified.status_code == 200, verified.text
    assert (await laptop.get("/api/v1/clinician/patients")).status_code == 200


async def test_where_optional_a_clinician_sees_patients_with_the_password_alone(
    clinician: Any,
) -> None:
    assert (await clinician.get("/api/v1/clinician/patients")).status_code == 200
    assert (await clinician.get("/clinician")).status_code == 200
