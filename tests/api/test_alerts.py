"""Alerts through the API and the clinician's pages: raised for every clinician who shares, once
per patient, kind and day; each clinician reads and acknowledges their own; the patient sees
the acknowledgement in their access log; the monitoring rules raise them too; and every row
goes with the patient's account.

Delivery (push and email) and escalation are in tests/push/test_alerts.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from litestar import Litestar

from server import db
from server.domain.alerts import DETAIL_MAX
from server.security import SESSION_COOKIE
from server.services import sessions
from tests.helpers.accounts import make_clinician, register
from tests.helpers.sharing import (
    audit_rows,
    days_ago,
    log_assessment,
    log_checkin,
    log_infusion,
    share,
)
from tests.helpers.traces import columns_mentioning


async def alerts_of(clinician: Any, state: str = "open") -> list[dict[str, Any]]:
    response = await clinician.get("/api/v1/clinician/alerts", params={"state": state})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def test_item9_raises_one_alert_for_each_clinician_who_shares(
    patient: Any, clinician: Any, client_factory: Any, pool: db.Pool
) -> None:
    colleague, unshared = client_factory(), client_factory()
    colleague.me = await make_clinician(pool, colleague, "Dr. Colleague")
    await make_clinician(pool, unshared, "Dr. Unshared")
    await share(patient, clinician)
    await share(patient, colleague)
    await log_assessment(patient, days_ago(1), "phq9", 12, item9=1)
    await log_assessment(patient, days_ago(1), "phq9", 14, item9=2)  # the same day: one event

    mine, theirs = await alerts_of(clinician), await alerts_of(colleague)
    assert await alerts_of(unshared, "all") == []
    assert len(mine) == len(theirs) == 1
    [alert] = mine
    assert alert["id"] != theirs[0]["id"]  # one alert per recipient
    assert alert["patient_id"] == patient.me["id"]
    assert alert["kind"] == "item9" and alert["day"] == days_ago(1).isoformat()
    assert "item 9" in alert["detail"] and "answered 1 of 3" in alert["detail"]
    assert alert["acknowledged_at"] is None and alert["acknowledged_by"] is None
    assert set(alert) == {
        "id",
        "patient_id",
        "kind",
        "day",
        "raised_at",
        "detail",
        "acknowledged_at",
        "acknowledged_by",
        "note",
    }

    # Each acknowledges their own: another's alert does not exist for them.
    url = f"/api/v1/clinician/alerts/{theirs[0]['id']}/acknowledge"
    assert (await clinician.post(url)).status_code == 404
    assert (await unshared.post(url)).status_code == 404
    assert (
        await clinician.post("/api/v1/clinician/alerts/not-an-id/acknowledge")
    ).status_code == 404
    done = await clinician.post(
        f"/api/v1/clinician/alerts/{alert['id']}/acknowledge", json={"note": " Called her. "}
    )
    assert done.status_code == 200, done.text
    acknowledged = done.json()
    assert acknowledged["acknowledged_by"] == clinician.me["id"]
    assert acknowledged["acknowledged_at"] is not None and acknowledged["note"] == "Called her."
    assert await alerts_of(clinician) == []
    assert await alerts_of(clinician, "all") == [acknowledged]
    assert [a["id"] for a in await alerts_of(colleague)] == [theirs[0]["id"]]  # still open

    # The patient sees who acknowledged it; once, however often the button is pressed.
    again = await clinician.post(f"/api/v1/clinician/alerts/{alert['id']}/acknowledge")
    assert again.status_code == 200 and again.json() == acknowledged
    [row] = await audit_rows(pool, patient.me["id"], "alert_acknowledge")
    assert row["actor_name"] == "Dr. Test" and row["detail"]["alert_id"] == alert["id"]
    log = (await patient.get("/api/v1/me/access-log")).json()["items"]
    assert any(e["action"] == "alert_acknowledge" and e["actor"]["name"] == "Dr. Test" for e in log)
    page = await patient.get("/sharing")
    assert "acknowledged it" in page.text
    # Reading the list is a view of the patient's data, in their log too.
    assert await audit_rows(pool, patient.me["id"], "view_alerts")


async def test_only_clinicians_read_or_acknowledge_alerts(
    patient: Any, clinician: Any, client_factory: Any
) -> None:
    await share(patient, clinician)
    await log_assessment(patient, days_ago(0), "phq9", 9, item9=1)
    [alert] = await alerts_of(clinician)
    assert (await patient.get("/api/v1/clinician/alerts")).status_code == 403
    acknowledge = f"/api/v1/clinician/alerts/{alert['id']}/acknowledge"
    assert (await patient.post(acknowledge)).status_code == 403
    assert (await client_factory().get("/api/v1/clinician/alerts")).status_code == 401
    wrong = await clinician.get("/api/v1/clinician/alerts", params={"state": "closed"})
    assert wrong.status_code == 400
    long_note = await clinician.post(acknowledge, json={"note": "x" * 2001})
    assert long_note.status_code == 400 and "note" in long_note.text
    assert (await alerts_of(clinician))[0]["acknowledged_at"] is None


async def test_a_withdrawn_share_hides_the_alerts(patient: Any, clinician: Any) -> None:
    share_id = await share(patient, clinician)
    await log_assessment(patient, days_ago(0), "phq9", 9, item9=2)
    [alert] = await alerts_of(clinician)
    assert (await patient.delete(f"/api/v1/shares/{share_id}")).status_code == 204
    assert await alerts_of(clinician, "all") == []
    url = f"/api/v1/clinician/alerts/{alert['id']}/acknowledge"
    assert (await clinician.post(url)).status_code == 404
    # Nor are new ones raised for them.
    await log_assessment(patient, days_ago(1), "phq9", 9, item9=2)
    assert await alerts_of(clinician, "all") == []


async def test_no_alert_without_item9_or_a_share(
    patient: Any, clinician: Any, client_factory: Any
) -> None:
    await log_assessment(patient, days_ago(2), "phq9", 20, item9=1)  # nobody to tell yet
    await share(patient, clinician)
    await log_assessment(patient, days_ago(1), "phq9", 20)
    await log_assessment(patient, days_ago(1), "gad7", 20)
    assert await alerts_of(clinician, "all") == []


async def test_the_sync_raises_the_alert_too(patient: Any, clinician: Any) -> None:
    await share(patient, clinician)
    synced = await patient.post(
        "/api/v1/sync",
        json={
            "since": None,
            "changes": [
                {
                    "kind": "assessment",
                    "id": str(uuid.uuid4()),
                    "op": "upsert",
                    "updated_at": f"{days_ago(0).isoformat()}T15:00:00+00:00",
                    "data": {
                        "instrument": "phq9",
                        "answers": [1, 1, 1, 1, 1, 1, 1, 1, 3],
                        "taken_at": f"{days_ago(0).isoformat()}T15:00:00+00:00",
                    },
                }
            ],
        },
    )
    assert synced.status_code == 200, synced.text
    assert synced.json()["results"][0]["status"] == "applied"
    assert [a["kind"] for a in await alerts_of(clinician)] == ["item9"]


async def test_a_mood_drop_raises_an_alert(patient: Any, clinician: Any) -> None:
    await share(patient, clinician)
    for back in range(34, 7, -1):  # four weeks and more of good days
        await log_checkin(patient, days_ago(back), 7)
    await log_checkin(patient, days_ago(6), 3)
    await log_checkin(patient, days_ago(5), 3)
    assert await alerts_of(clinician) == []  # two low days are not a drop
    for back in (4, 3, 2):
        await log_checkin(patient, days_ago(back), 2)
    [alert] = await alerts_of(clinician)
    assert alert["kind"] == "mood_drop"
    assert days_ago(6).isoformat() <= alert["day"] <= days_ago(2).isoformat()
    assert "below the 4 weeks before" in alert["detail"]


async def test_a_severe_side_effect_that_persists_raises_an_alert(
    patient: Any, clinician: Any
) -> None:
    await share(patient, clinician)
    await log_infusion(patient, days_ago(6))
    await log_checkin(patient, days_ago(6), 6, [("nausea", 3)])  # the infusion's day: expected
    await log_checkin(patient, days_ago(4), 6, [("headache", 2)])
    assert await alerts_of(clinician) == []
    await log_checkin(patient, days_ago(3), 6, [("headache", 3)])  # three days after
    [alert] = await alerts_of(clinician)
    assert alert["kind"] == "persisting_severe_effect"
    assert alert["day"] == days_ago(3).isoformat() and "headache" in alert["detail"]


async def test_the_clinician_pages_list_open_alerts_and_acknowledge_them(
    patient: Any, clinician: Any
) -> None:
    await share(patient, clinician)
    await log_assessment(patient, days_ago(1), "phq9", 15, item9=1)
    [alert] = await alerts_of(clinician)
    listing = await clinician.get("/clinician")
    assert listing.status_code == 200
    text = listing.text
    assert "Open alerts" in text and "PHQ-9 item 9" in text and "Test Patient" in text
    assert text.index("Open alerts") < text.index('<table class="patients"')
    action = f'action="/clinician/alerts/{alert["id"]}/acknowledge"'
    assert action in text and 'name="_csrf_token"' in text
    assert '<script type="module" src="/static/js/clinician.js"></script>' in text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', text)
    assert token is not None

    summary_url = f"/clinician/patients/{patient.me['id']}"
    summary = (await clinician.get(summary_url)).text
    assert "not acknowledged" in summary and action in summary

    clinician.csrf = False  # a form post carries the token in the form only
    forged = await clinician.post(f"/clinician/alerts/{alert['id']}/acknowledge", data={})
    assert forged.status_code == 403
    posted = await clinician.post(
        f"/clinician/alerts/{alert['id']}/acknowledge",
        data={"_csrf_token": token.group(1), "back": "summary", "note": "seen"},
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == f"{summary_url}#alerts"
    assert "No open alerts." in (await clinician.get("/clinician")).text
    summary = (await clinician.get(summary_url)).text
    assert "not acknowledged" not in summary and "acknowledged" in summary and "seen" in summary
    # The patient's own view of the page has no alerts to show.
    assert 'id="alerts"' not in (await patient.get(summary_url)).text


async def test_a_long_detail_is_cut_to_what_the_table_keeps(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    """Raising from the owner's side (the demo, an operator) with any text stays within the
    table's limit."""
    from server.domain.alerts import Raised
    from server.services.alerts import raise_alerts

    await share(patient, clinician)
    async with db.transaction(pool) as conn:
        raised = await raise_alerts(
            conn,
            uuid.UUID(patient.me["id"]),
            [Raised("relapse", days_ago(0), "x" * (DETAIL_MAX + 50))] * 2,
        )
    assert raised == 1
    [alert] = await alerts_of(clinician)
    assert len(alert["detail"]) == DETAIL_MAX


async def test_delete_me_erases_the_alerts(patient: Any, clinician: Any, pool: db.Pool) -> None:
    await share(patient, clinician)
    await log_assessment(patient, days_ago(0), "phq9", 11, item9=1)
    [alert] = await alerts_of(clinician)
    url = f"/api/v1/clinician/alerts/{alert['id']}/acknowledge"
    assert (await clinician.post(url)).status_code == 200
    await log_assessment(patient, days_ago(1), "phq9", 11, item9=1)  # one left open
    assert len(await alerts_of(clinician, "all")) == 2
    assert await columns_mentioning(pool, patient.me["id"]) != []

    assert (await patient.delete("/api/v1/me")).status_code == 204

    assert await columns_mentioning(pool, patient.me["id"]) == []
    assert await alerts_of(clinician, "all") == []
    assert (await clinician.post(url)).status_code == 404
    async with pool.acquire() as conn:
        left = await conn.fetchval(
            "SELECT count(*) FROM alerts WHERE id = $1", uuid.UUID(alert["id"])
        )
    assert left == 0


async def test_raising_is_idempotent_per_day(patient: Any, clinician: Any) -> None:
    await share(patient, clinician)
    for _ in range(3):
        await log_assessment(patient, days_ago(0), "phq9", 10, item9=1)
    await log_assessment(patient, days_ago(1), "phq9", 10, item9=1)
    found = await alerts_of(clinician)
    assert [a["day"] for a in found] == [days_ago(1).isoformat(), days_ago(0).isoformat()]
    assert found[0]["raised_at"] >= found[1]["raised_at"]  # newest first


@asynccontextmanager
async def request_of(app: Litestar, client: Any) -> AsyncIterator[db.Connection]:
    """A connection as a request of ``client`` has it: from the app's pool, after the session
    lookup (row-level security then binds it to the client's account)."""
    pool = app.state.pool
    async with db.request_scope(), db.connection(pool) as conn:
        assert await sessions.user_for_token(pool, client.cookies[SESSION_COOKIE]) is not None
        yield conn


async def test_row_security_holds_against_a_hostile_statement(
    app: Litestar, patient: Any, clinician: Any, client_factory: Any, pool: db.Pool
) -> None:
    colleague, other = client_factory(), client_factory()
    colleague.me = await make_clinician(pool, colleague, "Dr. Colleague")
    other.me = await register(other)
    await share(patient, clinician)
    await share(patient, colleague)
    await log_assessment(patient, days_ago(0), "phq9", 12, item9=1)
    [mine], [theirs] = await alerts_of(clinician), await alerts_of(colleague)
    me, them = uuid.UUID(mine["id"]), uuid.UUID(theirs["id"])

    async with request_of(app, patient) as conn:
        # The patient's write raised them, but the rows are the clinicians'.
        assert await conn.fetchval("SELECT count(*) FROM alerts") == 0
        for statement in (
            "SELECT count(*) FROM alert_escalations",
            f"""INSERT INTO alerts (patient_id, clinician_id, kind, local_day, detail)
                VALUES ('{patient.me["id"]}', '{clinician.me["id"]}', 'item9', now(), 'x')""",
            # Nor push or mail the clinician anything but the alert's own neutral words.
            f"""INSERT INTO push_outbox (user_id, kind, occurrence, due_at, stale_at, payload,
                                         next_attempt_at)
                VALUES ('{clinician.me["id"]}', 'patient_attention', '{patient.me["id"]}:x',
                        now(), now() + interval '1 hour', '{{}}', now())""",
            f"""INSERT INTO mail_outbox (user_id, kind, recipient, stale_at)
                VALUES ('{clinician.me["id"]}', 'alert', 'x@example.org', now())""",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute(statement)
        # Nor raise an alert about another patient.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval(
                "SELECT afterglow_raise_alert($1, 'item9', current_date, 'x')",
                uuid.UUID(other.me["id"]),
            )

    async with request_of(app, clinician) as conn:
        assert [r["id"] for r in await conn.fetch("SELECT id FROM alerts")] == [me]
        for statement in (
            f"UPDATE alerts SET detail = 'nothing' WHERE id = '{me}'",  # only the acknowledgement
            f"UPDATE alerts SET escalation_checked = true WHERE id = '{me}'",
            f"DELETE FROM alerts WHERE id = '{me}'",
            # Acknowledging is one's own act: not in someone else's name.
            f"""UPDATE alerts SET acknowledged_at = now(), acknowledged_by = '{colleague.me["id"]}'
                 WHERE id = '{me}'""",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute(statement)
        taken = await conn.execute(
            "UPDATE alerts SET acknowledged_at = now(), acknowledged_by = $1 WHERE id = $2",
            uuid.UUID(clinician.me["id"]),
            them,
        )
        assert taken == "UPDATE 0"  # the colleague's alert is not theirs to acknowledge
    assert (await clinician.post(f"/api/v1/clinician/alerts/{me}/acknowledge")).status_code == 200
    async with request_of(app, clinician) as conn:
        # An acknowledgement stands: it is in the patient's log.
        for statement in (
            f"UPDATE alerts SET acknowledged_at = NULL, acknowledged_by = NULL WHERE id = '{me}'",
            f"UPDATE alerts SET note = 'later' WHERE id = '{me}'",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute(statement)
    [still] = await alerts_of(colleague)
    assert still["acknowledged_at"] is None


async def test_a_retracted_answer_keeps_its_alert(patient: Any, clinician: Any) -> None:
    await share(patient, clinician)
    answer_id = uuid.uuid4()
    answered = await patient.put(
        f"/api/v1/assessments/{answer_id}",
        json={
            "instrument": "phq9",
            "answers": [1, 1, 1, 1, 1, 1, 1, 1, 2],
            "taken_at": f"{days_ago(0).isoformat()}T14:00:00+00:00",
        },
    )
    assert answered.status_code == 201, answered.text
    assert (await patient.delete(f"/api/v1/assessments/{answer_id}")).status_code == 204
    [alert] = await alerts_of(clinician)
    assert alert["kind"] == "item9" and "answered 2 of 3" in alert["detail"]


async def test_an_alert_reads_in_its_readers_language_and_an_older_one_in_its_detail(
    patient: Any, clinician: Any, pool: db.Pool
) -> None:
    await share(patient, clinician)
    await log_assessment(patient, days_ago(1), "phq9", 14, item9=2)
    english = "PHQ-9 item 9 (thoughts of death or self-harm) answered 2 of 3."
    spanish = "Ítem 9 del PHQ-9 (pensamientos de muerte o de hacerse daño) respondido con 2 de 3."
    [alert] = await alerts_of(clinician)
    assert alert["detail"] == english  # the API and exports keep the English detail
    row = await pool.fetchrow("SELECT detail, finding FROM alerts WHERE id = $1", alert["id"])
    assert row["detail"] == english
    assert row["finding"] == {
        "message": "PHQ-9 item 9 (thoughts of death or self-harm) answered {answer} of 3.",
        "params": {"answer": 2},
    }

    page = await clinician.get("/clinician")
    assert english in page.text
    assert (await clinician.patch("/api/v1/me", json={"language": "es"})).status_code == 200
    for path in ("/clinician", f"/clinician/patients/{patient.me['id']}"):
        page = await clinician.get(path)
        assert page.status_code == 200, page.text
        assert spanish in page.text and english not in page.text

    # An alert raised before migrations/0029 has no finding: it reads in its English detail.
    await pool.execute("UPDATE alerts SET finding = NULL WHERE id = $1", alert["id"])
    page = await clinician.get("/clinician")
    assert english in page.text and spanish not in page.text
