"""The audit trail beyond clinicians' views: failed and refused sign-ins, password and profile
changes, new devices, data exports and erasure, each where the patient reads it (Sharing →
access log); and what of it outlives an erased account (an accounting of disclosures, under a
random id)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from server import db
from tests.helpers.accounts import PASSWORD, register, unique_email
from tests.helpers.push_service import PushService
from tests.helpers.sharing import days_ago, log_checkin, share
from tests.helpers.traces import columns_mentioning

WRONG = "not the password"


async def access_log(patient: Any) -> list[dict[str, Any]]:
    """The patient's access log, oldest first."""
    response = await patient.get("/api/v1/me/access-log", params={"limit": 200})
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))


async def sign_in(client: Any, email: str, password: str) -> int:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return int(response.status_code)


async def test_a_failed_sign_in_is_in_the_patients_access_log(
    patient: Any, client_factory: Any
) -> None:
    stranger = client_factory("127.61.0.7")
    assert await sign_in(stranger, patient.me["email"], WRONG) == 401

    failed = (await access_log(patient))[-1]
    assert failed["action"] == "sign_in_failed"
    assert failed["address"] == "127.61.0.7"
    assert failed["actor"]["id"] is None  # whoever typed it: not the patient
    page = (await patient.get("/sharing")).text
    assert "Tried to sign in with a wrong password" in page
    assert "127.61.0.7" in page


async def test_a_failed_sign_in_into_a_clinicians_account_is_in_the_trail(
    clinician: Any, client_factory: Any, pool: db.Pool
) -> None:
    assert await sign_in(client_factory(), clinician.me["email"], WRONG) == 401
    async with db.transaction(pool) as conn:
        row = await conn.fetchrow(
            """SELECT * FROM audit_events WHERE action = 'sign_in_failed'
                 AND detail->>'account' = $1""",
            clinician.me["id"],
        )
    assert row is not None and row["patient_id"] is None


async def test_a_lockout_is_in_the_access_log_once_a_window(
    patient: Any, client_factory: Any
) -> None:
    attacker = client_factory("127.61.0.8")
    for _ in range(5):
        assert await sign_in(attacker, patient.me["email"], WRONG) == 401
    for _ in range(3):  # refused without a look at the password, the right one included
        assert await sign_in(attacker, patient.me["email"], PASSWORD) == 429

    trail = [e for e in await access_log(patient) if e["action"].startswith("sign_in_")]
    assert [e["action"] for e in trail] == ["sign_in_failed"] * 5 + ["sign_in_blocked"]
    assert {e["address"] for e in trail} == {"127.61.0.8"}
    page = (await patient.get("/sharing")).text
    assert "Was stopped from signing in after too many wrong passwords" in page


async def test_an_unknown_email_leaves_nothing_that_names_it(
    client_factory: Any, pool: db.Pool
) -> None:
    email = unique_email("nobody")
    prober = client_factory()
    for _ in range(6):
        await sign_in(prober, email, WRONG)
    # Counted (the sixth was refused), yet neither the email nor its bare hash is stored.
    assert await sign_in(prober, email, WRONG) == 429
    assert await columns_mentioning(pool, email) == []
    for hashed in (email, email.lower()):
        digest = hashlib.sha256(hashed.encode()).hexdigest()
        assert await columns_mentioning(pool, digest) == []


async def test_the_throttle_key_of_a_failed_sign_in_is_keyed(
    patient: Any, client_factory: Any, pool: db.Pool
) -> None:
    email = patient.me["email"]
    assert await sign_in(client_factory(), email, WRONG) == 401
    async with db.transaction(pool) as conn:
        keys = {r["key"] for r in await conn.fetch("SELECT key FROM sign_in_attempts")}
    bare = hashlib.sha256(email.lower().encode()).hexdigest()
    assert not any(bare in key for key in keys)
    assert not any(email.lower() in key.lower() for key in keys)
    assert any(key.startswith("acct:") for key in keys)
    assert any(key.startswith("pair:") for key in keys)


async def test_password_and_profile_changes_are_in_the_access_log(patient: Any) -> None:
    changed = await patient.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "another good password"},
    )
    assert changed.status_code == 204, changed.text
    renamed = await patient.patch("/api/v1/me", json={"display_name": "Renamed", "timezone": "UTC"})
    assert renamed.status_code == 200, renamed.text

    password, profile = (await access_log(patient))[-2:]
    assert password["action"] == "password_change"
    assert profile["action"] == "profile_change"
    assert profile["detail"] == {"fields": ["display_name", "timezone"]}  # never the values
    for entry in (password, profile):
        assert entry["actor"]["id"] == patient.me["id"]
        assert entry["address"] == patient.address
    page = (await patient.get("/sharing")).text
    assert "Changed the password" in page and "Changed the profile" in page


async def test_a_new_device_is_in_the_access_log_once(patient: Any) -> None:
    async with PushService() as service:
        device = service.subscribe()
        added = await patient.post("/api/v1/push/subscriptions", json=device.as_json())
        assert added.status_code == 201, added.text
        again = await patient.post("/api/v1/push/subscriptions", json=device.as_json())
        assert again.status_code == 200, again.text

    devices = [e for e in await access_log(patient) if e["action"] == "device_add"]
    assert len(devices) == 1
    assert devices[0]["address"] == patient.address
    assert devices[0]["detail"] == {"push_service": "127.0.0.1"}
    assert "Added a device for reminders" in (await patient.get("/sharing")).text


async def test_a_data_export_is_in_the_access_log(patient: Any) -> None:
    assert (await patient.get("/api/v1/me/export")).status_code == 200
    exported = (await access_log(patient))[-1]
    assert exported["action"] == "data_export"
    assert exported["actor"]["id"] == patient.me["id"]
    assert exported["address"] == patient.address
    assert "Downloaded all your data" in (await patient.get("/sharing")).text


DISCLOSED = {
    "view_summary",
    "view_patient_list",
    "view_infusions",
    "export_csv",
    "export_fhir",
    "infusion_change",
}


async def test_disclosures_outlive_the_erased_account_under_a_random_id(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    me = patient.me
    await log_checkin(patient, days_ago(1), 6)
    await share(patient, clinician)
    base = f"/api/v1/patients/{me['id']}"
    for url in ("/summary", "/export.csv", "/export.fhir", "/infusions"):
        assert (await clinician.get(base + url)).status_code == 200, url
    assert (await clinician.get("/api/v1/clinician/patients")).status_code == 200
    infusion = {"scheduled_at": f"{days_ago(-3)}T15:00:00Z", "duration_minutes": 40}
    changed = await clinician.put(f"{base}/infusions/{uuid.uuid4()}", json=infusion)
    assert changed.status_code == 201, changed.text
    disclosed = [
        (e["action"], datetime.fromisoformat(e["at"]), e["address"])
        for e in await access_log(patient)
        if e["actor"]["id"] == clinician.me["id"] and e["action"] in DISCLOSED
    ]
    assert {action for action, _, _ in disclosed} == DISCLOSED

    assert (await patient.delete("/api/v1/me")).status_code == 204

    async with db.transaction(pool) as conn:
        kept = await conn.fetch(
            "SELECT * FROM disclosures WHERE actor_id = $1 ORDER BY at, id",
            uuid.UUID(clinician.me["id"]),
        )
        (subject,) = {r["subject"] for r in kept}
        erasure = await conn.fetchrow(
            "SELECT * FROM audit_events WHERE detail->>'disclosures' = $1", str(subject)
        )
    assert [(r["action"], r["at"], r["address"]) for r in kept] == disclosed
    assert {r["actor_name"] for r in kept} == {clinician.me["display_name"]}
    assert subject != uuid.UUID(me["id"])
    # The erasure is in the trail, naming no one; nothing anywhere leads back to the patient.
    assert erasure["action"] == "account_delete"
    assert erasure["patient_id"] is None and erasure["actor_id"] is None
    assert erasure["actor_name"] == ""
    assert await columns_mentioning(pool, me["id"]) == []
    assert await columns_mentioning(pool, me["email"]) == []


async def test_each_erasure_has_a_subject_of_its_own(
    client_factory: Any, clinician: Any, pool: db.Pool
) -> None:
    subjects = []
    for _ in range(2):
        patient = client_factory()
        me = await register(patient)
        await share(patient, clinician)
        assert (await clinician.get(f"/api/v1/patients/{me['id']}/summary")).status_code == 200
        assert (await patient.delete("/api/v1/me")).status_code == 204
    async with db.transaction(pool) as conn:
        subjects = await conn.fetch(
            "SELECT DISTINCT subject FROM disclosures WHERE actor_id = $1",
            uuid.UUID(clinician.me["id"]),
        )
    assert len(subjects) == 2
