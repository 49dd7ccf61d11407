"""The patient's sharing page: a new code is shown once after a redirect (a reload makes no
second code, and the code is in no URL and kept nowhere on the server), and the access log
shows a run of one person doing one thing as one line."""

from __future__ import annotations

import re
import uuid
from typing import Any

from server import db
from tests.helpers.sharing import share

CODE = re.compile(r"<strong>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2})</strong>")


async def shares_of(pool: db.Pool, patient: Any) -> int:
    async with pool.acquire() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM shares WHERE patient_id = $1", uuid.UUID(patient.me["id"])
        )
    return count


async def test_a_new_code_is_shown_once_after_the_redirect(
    patient: Any, client_factory: Any, pool: db.Pool
) -> None:
    made = await patient.post("/sharing/codes")
    assert made.status_code == 303 and made.headers["location"] == "/sharing"
    assert not CODE.search(made.text) and "code" not in made.headers["location"]
    page = await patient.get("/sharing")
    code = CODE.search(page.text)
    assert code is not None
    assert code.group(1) not in str(page.url)
    # The code travels sealed: not readable in the cookie that carried it.
    assert all(code.group(1) not in c for c in made.headers.get_list("set-cookie"))

    again = await patient.get("/sharing")  # a reload
    assert again.status_code == 200 and not CODE.search(again.text)
    assert "Codes not used yet" in again.text
    assert await shares_of(pool, patient) == 1

    # The sealed cookie opens for its own account only.
    other = client_factory()
    registered = await other.post(
        "/api/v1/auth/register",
        json={
            "email": f"other-{uuid.uuid4().hex[:8]}@example.org",
            "password": "a long enough password",
            "display_name": "Other",
            "timezone": "UTC",
        },
    )
    assert registered.status_code == 201, registered.text
    sealed = (await patient.post("/sharing/codes")).cookies.get("afterglow_once")
    assert sealed
    other.cookies.set("afterglow_once", sealed, path="/sharing")
    theirs = await other.get("/sharing")
    assert theirs.status_code == 200 and not CODE.search(theirs.text)


async def test_the_access_log_shows_repeats_as_one_line(patient: Any, clinician: Any) -> None:
    await share(patient, clinician)
    for _ in range(5):
        assert (await clinician.get("/api/v1/clinician/patients")).status_code == 200
    summary = await clinician.get(f"/api/v1/patients/{patient.me['id']}/summary")
    assert summary.status_code == 200
    for _ in range(2):
        assert (await clinician.get("/api/v1/clinician/patients")).status_code == 200

    page = (await patient.get("/sharing")).text
    lines = re.findall(r"<li><strong>Dr\. Test</strong>: ([^<]+)<br>", page)
    assert lines[:3] == [
        "Saw you in their patient list (2 times)",
        "Viewed your summary",
        "Saw you in their patient list (5 times)",
    ]
    assert page.count("Saw you in their patient list") == 2
