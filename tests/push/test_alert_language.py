"""The clinician alert's push in the recipient clinician's language (issue 18, migration 0029):
two clinicians share one patient, one reads Afterglow in Spanish; each device gets the one
neutral sentence in its clinician's language, read from the local push service."""

from __future__ import annotations

from typing import Any

import aiohttp

from server import db
from server.push.dispatcher import Dispatcher
from server.push.vapid import VapidKeys
from tests.helpers.accounts import make_clinician
from tests.helpers.push_service import PushService
from tests.helpers.sharing import days_ago, log_assessment, share

ENGLISH = "A patient who shares with you needs your attention. Open Afterglow to see it."
SPANISH = (
    "Un paciente que comparte sus datos contigo necesita tu atención. Abre Afterglow para verlo."
)


async def test_the_alert_push_follows_each_clinicians_language(
    patient: Any,
    clinician: Any,
    client_factory: Any,
    pool: db.Pool,
    vapid: VapidKeys,
    http_session: aiohttp.ClientSession,
    push_service: PushService,
) -> None:
    colleague = client_factory()
    colleague.me = await make_clinician(pool, colleague, "Dra. Colega")
    changed = await colleague.patch("/api/v1/me", json={"language": "es"})
    assert changed.status_code == 200, changed.text
    devices = {}
    for who, client in (("en", clinician), ("es", colleague)):
        await share(patient, client)
        device = push_service.subscribe()
        added = await client.post("/api/v1/push/subscriptions", json=device.as_json())
        assert added.status_code == 201, added.text
        devices[who] = device

    await log_assessment(patient, days_ago(0), "phq9", 14, item9=1)
    await Dispatcher(pool, vapid, http_session, jitter=lambda: 0.0, timeout=5).run_until_idle()

    [english] = push_service.delivered_to(devices["en"])
    [spanish] = push_service.delivered_to(devices["es"])
    assert english.json()["body"] == ENGLISH
    assert spanish.json()["body"] == SPANISH
    assert spanish.json()["title"] == english.json()["title"] == "Afterglow"
