"""Erasure: after DELETE /me no row anywhere in the database references the patient.

The test walks every table and every column of the public schema, so a table added later is
covered without touching this file.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from server import db


async def _references(pool: db.Pool, needles: list[str]) -> list[str]:
    found = []
    async with db.transaction(pool) as conn:
        columns = await conn.fetch(
            """SELECT c.table_name, c.column_name, c.data_type
                 FROM information_schema.columns c
                 JOIN information_schema.tables t
                   ON t.table_name = c.table_name AND t.table_schema = c.table_schema
                WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
                  AND c.data_type IN ('uuid', 'text', 'jsonb', 'ARRAY', 'character varying')"""
        )
        for column in columns:
            table, name = column["table_name"], column["column_name"]
            for needle in needles:
                hits = await conn.fetchval(
                    f'SELECT count(*) FROM "{table}" WHERE "{name}"::text ILIKE $1', f"%{needle}%"
                )
                if hits:
                    found.append(f"{table}.{name} ({hits} rows mention {needle[:8]}…)")
    return found


async def test_delete_me_erases_every_row(patient: Any, clinician: Any, pool: db.Pool) -> None:
    me = patient.me
    now = datetime.now(UTC)
    # Leave a trace in every part of the product the patient can touch.
    checkin = await patient.put(
        f"/api/v1/checkins/{uuid.uuid4()}",
        json={
            "recorded_at": now.isoformat(),
            "mood": 4,
            "note": "unique-erasure-note",
            "side_effects": [{"code": "nausea", "severity": 2}],
        },
    )
    assert checkin.status_code in (200, 201), checkin.text
    phq = await patient.put(
        f"/api/v1/assessments/{uuid.uuid4()}",
        json={
            "instrument": "phq9",
            "answers": [1, 1, 1, 1, 1, 1, 1, 1, 1],
            "taken_at": now.isoformat(),
        },
    )
    assert phq.status_code in (200, 201), phq.text
    infusion = await patient.put(
        f"/api/v1/infusions/{uuid.uuid4()}",
        json={
            "scheduled_at": (now + timedelta(days=2)).isoformat(),
            "duration_minutes": 40,
            "status": "planned",
        },
    )
    assert infusion.status_code in (200, 201), infusion.text
    share = await patient.post("/api/v1/shares")
    assert share.status_code == 201, share.text
    accepted = await clinician.post("/api/v1/shares/accept", json={"code": share.json()["code"]})
    assert accepted.status_code in (200, 201), accepted.text
    viewed = await clinician.get(f"/api/v1/patients/{me['id']}/summary")
    assert viewed.status_code == 200
    subscription = await patient.post(
        "/api/v1/push/subscriptions",
        json={
            "endpoint": "https://updates.push.services.mozilla.com/wpush/v2/erasure-test",
            "keys": {
                "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u"
                "-Ts1XbjhazAkj7I99e8QcYP7DkM",
                "auth": "tBHItJI5svbpez7KI4CCXg",
            },
        },
    )
    assert subscription.status_code in (200, 201), subscription.text

    assert await _references(pool, [me["id"]]) != []  # the walk does see the data
    assert (await patient.delete("/api/v1/me")).status_code == 204

    assert (
        await _references(pool, [me["id"], me["email"], "unique-erasure-note", "erasure-test"])
        == []
    )
    assert (await clinician.get(f"/api/v1/patients/{me['id']}/summary")).status_code == 404
    patients = await clinician.get("/api/v1/clinician/patients")
    assert me["id"] not in patients.text
