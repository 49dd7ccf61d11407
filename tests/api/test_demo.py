"""`python -m server demo-data`: a clinic that shows every part of the summary in a minute."""

from __future__ import annotations

from typing import Any

from server import db
from server.demo import CLINICIAN_EMAIL, DEMO_PASSWORD, create_demo_clinic


async def test_the_demo_clinic_shows_each_kind_of_course(
    pool: db.Pool, client_factory: Any
) -> None:
    async with pool.acquire() as conn:
        await create_demo_clinic(conn)
        logins = await create_demo_clinic(conn)  # running it again replaces it
    assert [login.role for login in logins] == ["clinician"] + ["patient"] * 5 + [
        "admin",
        "prescriber",
        "nurse",
        "front desk",
    ]
    clinician = client_factory()
    response = await clinician.post(
        "/api/v1/auth/login", json={"email": CLINICIAN_EMAIL, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200
    rows = {
        r["patient"]["display_name"]: r
        for r in (await clinician.get("/api/v1/clinician/patients")).json()["items"]
    }
    assert len(rows) == 5
    first = next(iter(rows))
    assert first == "Daniel Reyes"  # the item-9 answer puts him at the top
    assert [f["kind"] for f in rows["Daniel Reyes"]["flags"]][:1] == ["item9"]
    assert rows["Maya Okafor"]["phq9"]["response"] is True
    assert rows["Lena Fischer"]["phq9"]["baseline"] is None
    assert "no_checkin" in {f["kind"] for f in rows["Tom Becker"]["flags"]}
    assert "severe_side_effect" in {f["kind"] for f in rows["Priya Shah"]["flags"]}

    maya = rows["Maya Okafor"]["patient"]["id"]
    summary = (await clinician.get(f"/api/v1/patients/{maya}/summary")).json()
    assert len(summary["afterglow"]) == 7  # six in the induction series, one maintenance
    assert any(g["days"] and g["days"] >= 1 for g in summary["afterglow"])
    day0 = next(r for r in summary["side_effects"]["rows"] if r["code"] == "dissociation")
    assert day0["by_day"]["0"] == day0["count"]  # side effects peak on infusion days
    assert summary["adherence"]["ratio"] > 0.85
    page = await clinician.get(f"/clinician/patients/{maya}")
    assert page.status_code == 200
