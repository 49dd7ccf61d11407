"""Who may reach a patient's data: every endpoint and page that takes a patient id, for every
kind of viewer. Only the patient and a clinician with an active share get through; everyone
else is told the patient does not exist (404), anonymous API calls get 401, anonymous pages a
redirect to /login.

Then the care team (issue 15): every endpoint x every clinic role x own clinic / other clinic /
no share (a clinic whose share the patient withdrew). Where the patient is not the clinic's:
404; where it is but the role may not (server/domain/clinic.py, RIGHTS): 403.

(The log endpoints, /checkins etc., take no patient id: they are always the caller's own.)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar

from server import db
from server.domain.clinic import RIGHTS, ROLES, Right
from tests.helpers.accounts import make_clinician, register
from tests.helpers.client import Client
from tests.helpers.clinics import join_team, make_clinic, make_member
from tests.helpers.sharing import at, days_ago, log_assessment, log_checkin, make_code, share

VIEWERS = (
    "patient",
    "other_patient",
    "clinician_shared",
    "clinician_unshared",
    "clinician_revoked",
    "clinician_expired_code",
    "anonymous",
)
ALLOWED = {"patient", "clinician_shared"}


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # {id} is the patient's id; {new} a fresh UUID
    page: bool = False
    ok: int = 200


ENDPOINTS = (
    Endpoint("summary", "GET", "/api/v1/patients/{id}/summary"),
    Endpoint("summary_range", "GET", "/api/v1/patients/{id}/summary?from=2025-01-01&to=2025-03-31"),
    Endpoint("export_csv", "GET", "/api/v1/patients/{id}/export.csv"),
    Endpoint("export_fhir", "GET", "/api/v1/patients/{id}/export.fhir"),
    Endpoint("infusions", "GET", "/api/v1/patients/{id}/infusions"),
    Endpoint("infusion_put", "PUT", "/api/v1/patients/{id}/infusions/{new}", ok=201),
    Endpoint("summary_page", "GET", "/clinician/patients/{id}", page=True),
    Endpoint("summary_page_all", "GET", "/clinician/patients/{id}?range=all", page=True),
)
INFUSION = {"scheduled_at": at(days_ago(-30)), "duration_minutes": 40}


@pytest.fixture(scope="module")
async def world(app: Litestar, pool: db.Pool) -> dict[str, Any]:
    """One patient with some data, and one client for each kind of viewer."""
    viewers: dict[str, Client] = {name: Client(app) for name in VIEWERS}
    patient = viewers["patient"]
    patient.me = await register(patient)  # type: ignore[attr-defined]
    await log_assessment(patient, days_ago(5), "phq9", 14)
    await log_checkin(patient, days_ago(2), 5, [("nausea", 1)])
    await register(viewers["other_patient"])
    for name in VIEWERS:
        if name.startswith("clinician"):
            await make_clinician(pool, viewers[name], name)
    await share(patient, viewers["clinician_shared"])
    revoked = await share(patient, viewers["clinician_revoked"])
    assert (await patient.delete(f"/api/v1/shares/{revoked}")).status_code == 204
    expired = await make_code(patient)
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE shares SET expires_at = now() - interval '1 minute' WHERE id = $1",
            uuid.UUID(expired["id"]),
        )
    attempt = await viewers["clinician_expired_code"].post(
        "/api/v1/shares/accept", json={"code": expired["code"]}
    )
    assert attempt.status_code == 404
    yield {"viewers": viewers, "patient_id": patient.me["id"]}  # type: ignore[attr-defined]
    for client in viewers.values():
        await client.aclose()


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
async def test_access(world: dict[str, Any], endpoint: Endpoint, viewer: str) -> None:
    client: Client = world["viewers"][viewer]
    url = endpoint.path.format(id=world["patient_id"], new=uuid.uuid4())
    body = INFUSION if endpoint.method == "PUT" else None
    response = await client.request(endpoint.method, url, json=body)
    if viewer in ALLOWED:
        assert response.status_code == endpoint.ok, response.text
    elif viewer == "anonymous":
        if endpoint.page:
            assert response.status_code in (302, 303)
            assert response.headers["location"].startswith("/login")
        else:
            assert response.status_code == 401
    else:
        assert response.status_code == 404, response.text
        # Nothing about the patient leaks in the refusal.
        assert world["patient_id"] not in response.text
        assert "Test Patient" not in response.text


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_unknown_and_malformed_patient_ids_are_404(
    world: dict[str, Any], viewer: str
) -> None:
    client: Client = world["viewers"][viewer]
    for patient_id in (str(uuid.uuid4()), "not-a-uuid"):
        for path in ("/api/v1/patients/{}/summary", "/clinician/patients/{}"):
            response = await client.get(path.format(patient_id))
            if viewer == "anonymous":
                assert response.status_code in (302, 303, 401)
            else:
                assert response.status_code == 404


async def test_a_clinician_id_is_not_a_patient(world: dict[str, Any]) -> None:
    """A clinician's own id behind /patients/ is no patient's data, even for themselves."""
    clinician: Client = world["viewers"]["clinician_shared"]
    me = (await clinician.get("/api/v1/me")).json()
    assert (await clinician.get(f"/api/v1/patients/{me['id']}/summary")).status_code == 404


# --- the care team ------------------------------------------------------------------------------

SCOPES = ("own", "other", "no_share")
# {id}: the patient; {new}: a fresh UUID; {appointment}, {medication}: the patient's requests.
TEAM_ENDPOINTS: tuple[tuple[str, str, str, Right | None, int], ...] = (
    ("summary", "GET", "/api/v1/patients/{id}/summary", "clinical_read", 200),
    ("export_csv", "GET", "/api/v1/patients/{id}/export.csv", "clinical_read", 200),
    ("export_fhir", "GET", "/api/v1/patients/{id}/export.fhir", "clinical_read", 200),
    ("summary_page", "GET", "/clinician/patients/{id}", "clinical_read", 200),
    ("infusions", "GET", "/api/v1/patients/{id}/infusions", "chair_read", 200),
    ("infusion_put", "PUT", "/api/v1/patients/{id}/infusions/{new}", "chair_write", 201),
    ("schedule_book", "PUT", "/api/v1/clinic/schedule/{id}/{new}", "schedule_write", 200),
    (
        "answer_appointment",
        "PATCH",
        "/api/v1/clinic/requests/{appointment}",
        "appointment_answer",
        200,
    ),
    (
        "answer_medication",
        "PATCH",
        "/api/v1/clinic/requests/{medication}",
        "medication_answer",
        200,
    ),
)
# Not about one patient: the member's own clinic, whatever patients it has.
CLINIC_ENDPOINTS: tuple[tuple[str, str, str, Right], ...] = (
    ("members", "GET", "/api/v1/clinic/members", "members_read"),
    ("settings", "GET", "/api/v1/clinic/settings", "members_read"),
    ("inbox", "GET", "/api/v1/clinic/requests", "appointment_read"),
    (
        "schedule",
        "GET",
        "/api/v1/clinic/schedule?from=2020-01-01T00:00:00Z&days=31",
        "schedule_read",
    ),
    ("invite_patient", "POST", "/api/v1/clinic/patient-invitations", "schedule_write"),
)
BODIES = {
    "PUT": {"scheduled_at": at(days_ago(-30)), "duration_minutes": 40},
    "PATCH": {"status": "in_progress", "reply": "We will call you."},
}


@pytest.fixture(scope="module")
async def team(app: Litestar, pool: db.Pool) -> dict[str, Any]:
    """A patient sharing with clinic "own", who withdrew a share with clinic "no_share"; clinic
    "other" has a patient of its own. Each clinic has one member of each role."""
    clients: list[Client] = []
    members: dict[tuple[str, str], Client] = {}
    for scope in SCOPES:
        clinic = await make_clinic(pool, f"Clinic {scope}")
        for role in ROLES:
            client = Client(app)
            clients.append(client)
            await make_member(pool, client, clinic, [role], f"{role} of {scope}")
            members[(scope, role)] = client
    patient = Client(app)
    clients.append(patient)
    patient.me = await register(patient)  # type: ignore[attr-defined]
    await log_assessment(patient, days_ago(5), "phq9", 14)
    withdrawn = await join_team(patient, members[("no_share", "front_desk")])
    assert (await patient.delete(f"/api/v1/shares/{withdrawn}")).status_code == 204
    await join_team(patient, members[("own", "nurse")])
    elsewhere = Client(app)
    clients.append(elsewhere)
    await register(elsewhere)
    await join_team(elsewhere, members[("other", "prescriber")])
    ids = {"id": patient.me["id"]}  # type: ignore[attr-defined]
    for kind in ("appointment", "medication"):
        sent = await patient.post(
            "/api/v1/requests", json={"kind": kind, "message": "Could you call me?"}
        )
        assert sent.status_code == 201, sent.text
        ids[kind] = sent.json()["id"]
    yield {"members": members, "ids": ids}
    for client in clients:
        await client.aclose()


def _roles_may(role: str, right: Right | None) -> bool:
    return right is None or right in RIGHTS[role]  # type: ignore[index]


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", TEAM_ENDPOINTS, ids=[e[0] for e in TEAM_ENDPOINTS])
async def test_team_access(
    team: dict[str, Any], endpoint: tuple[str, str, str, Right | None, int], role: str, scope: str
) -> None:
    _, method, path, right, ok = endpoint
    client: Client = team["members"][(scope, role)]
    url = path.format(new=uuid.uuid4(), **team["ids"])
    response = await client.request(method, url, json=BODIES.get(method))
    if scope != "own":
        assert response.status_code == 404, response.text
        assert "Test Patient" not in response.text
    elif _roles_may(role, right):
        assert response.status_code == ok, response.text
    else:
        assert response.status_code == 403, response.text
        assert "Test Patient" not in response.text


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", CLINIC_ENDPOINTS, ids=[e[0] for e in CLINIC_ENDPOINTS])
async def test_clinic_pages_by_role(
    team: dict[str, Any], endpoint: tuple[str, str, str, Right], role: str, scope: str
) -> None:
    _, method, path, right = endpoint
    client: Client = team["members"][(scope, role)]
    response = await client.request(method, path)
    if right in RIGHTS[role]:  # type: ignore[index]
        assert response.status_code in (200, 201), response.text
    else:
        assert response.status_code == 403, response.text


async def test_the_inbox_holds_only_what_the_role_takes(team: dict[str, Any]) -> None:
    kinds = {}
    for role in ("prescriber", "nurse", "front_desk"):
        response = await team["members"][("own", role)].get("/api/v1/clinic/requests")
        kinds[role] = sorted(r["kind"] for r in response.json())
    assert kinds == {
        "prescriber": ["appointment", "medication"],
        "nurse": ["appointment", "medication"],
        "front_desk": ["appointment"],
    }
    for scope in ("other", "no_share"):
        response = await team["members"][(scope, "prescriber")].get("/api/v1/clinic/requests")
        assert response.json() == []
