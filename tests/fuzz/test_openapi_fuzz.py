"""Fuzzing: schemathesis generates requests for every operation of the app's own OpenAPI
document, signed in as a patient and as a clinician, against the real app in a subprocess.
No response may be a 5xx, and every response must match its documented schema.

`AFTERGLOW_FUZZ_EXAMPLES` sets examples per operation (default 6; e.g. 200 for a long run).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error, response_schema_conformance

from server import security
from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.live_server import LiveServer, create_clinician

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("AFTERGLOW_FUZZ_EXAMPLES", "6"))


@pytest.fixture(scope="module")
def live(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(database_url, tmp_path_factory.mktemp("fuzz")) as server:
        yield server


class Session:
    """A signed-in requests session that signs in again if a fuzzed request ended it
    (logout, password change, account deletion)."""

    def __init__(self, live: LiveServer, role: str) -> None:
        self.live, self.role = live, role
        self.http = requests.Session()
        self.sign_in()

    def sign_in(self) -> None:
        self.http = requests.Session()
        self.http.get(f"{self.live.url}/healthz", timeout=10)
        email = unique_email(self.role)
        if self.role == "clinician":
            asyncio.run(
                create_clinician(self.live.env["DATABASE_URL"], email, PASSWORD, "Dr. Fuzz")
            )
            response = self.http.post(
                f"{self.live.url}/api/v1/auth/login",
                json={"email": email, "password": PASSWORD},
                headers=self.headers,
                timeout=10,
            )
        else:
            response = self.http.post(
                f"{self.live.url}/api/v1/auth/register",
                json={
                    "email": email,
                    "password": PASSWORD,
                    "display_name": "Fuzz",
                    "timezone": "America/New_York",
                },
                headers=self.headers,
                timeout=10,
            )
        assert response.status_code in (200, 201), response.text

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.http.cookies.get(security.CSRF_COOKIE, "")}

    def ensure(self) -> None:
        if self.http.get(f"{self.live.url}/api/v1/me", timeout=10).status_code == 401:
            self.sign_in()


@pytest.fixture(scope="module")
def api_schema(live: LiveServer) -> Any:
    return schemathesis.openapi.from_url(f"{live.url}/schema/openapi.json")


@pytest.fixture(scope="module")
def patient_session(live: LiveServer) -> Session:
    return Session(live, "patient")


@pytest.fixture(scope="module")
def clinician_session(live: LiveServer) -> Session:
    return Session(live, "clinician")


FUZZ_SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)


def _fuzz_every_operation(api_schema: Any, session: Session, live: LiveServer) -> list[str]:
    """Run every operation's examples; return a description of each failing operation.

    (schemathesis's own pytest plugin does not run under pytest 9, so hypothesis drives it.)
    """
    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @FUZZ_SETTINGS
        @hypothesis.given(case=operation.as_strategy())
        def run(case: Any) -> None:
            session.ensure()
            response = case.call(
                base_url=live.url, session=session.http, headers=session.headers, timeout=15
            )
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )

        try:
            run()
        except Exception as exc:  # collect every failing operation, report them together
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    return failures


def test_as_patient(api_schema: Any, patient_session: Session, live: LiveServer) -> None:
    assert _fuzz_every_operation(api_schema, patient_session, live) == []


def test_as_clinician(api_schema: Any, clinician_session: Session, live: LiveServer) -> None:
    assert _fuzz_every_operation(api_schema, clinician_session, live) == []


def test_no_unhandled_errors_were_logged(live: LiveServer) -> None:
    assert "Traceback" not in live.logs()
    assert "unhandled error" not in live.logs()
