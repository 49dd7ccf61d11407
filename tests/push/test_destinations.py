"""Where the reminder worker may connect. A subscription names the URL the worker posts to, so
a patient could aim it at this machine, the clinic's network or a cloud metadata service, and
read the answer back: push endpoints must name an allowed push service (AFTERGLOW_PUSH_SERVICES)
when they are stored and again when the worker connects, redirects are never followed, and no
push service's status code reaches the patient.

The worker's own session and dispatcher send; a listener on 127.0.0.1 counts every connection
that reaches it, and must count none.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from server import db
from server.config import Settings
from server.domain.reminders import PushPayload
from server.push.dispatcher import Dispatcher
from server.push.outbound import push_session
from server.push.vapid import VapidKeys
from server.store import push as push_store
from server.store import reminders as reminder_store
from server.timeutil import utc_now
from tests.helpers.accounts import register
from tests.helpers.client import Client
from tests.helpers.listener import FixedResolver, Listener
from tests.helpers.push import People, at
from tests.helpers.push_service import PushService, local_port
from tests.helpers.sharing import share

DUE = at("2025-04-07T15:00:00+00:00")  # this module's reminders are due then, and no one else's
NOTICE = PushPayload("Afterglow", "A patient needs your attention", "/clinician", "attention")


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    async with Listener() as found:
        yield found


@pytest.fixture(scope="module")
async def tester(app: Any) -> Client:
    """One patient for the table of refused endpoints, which must leave nothing behind."""
    client = Client(app)
    client.me = await register(client)  # type: ignore[attr-defined]
    return client


async def stored_device(
    pool: db.Pool, user_id: uuid.UUID, endpoint: str, service: PushService
) -> None:
    """A device stored without the subscribe-time check: a row from before it, or a name that
    was public when it was checked."""
    keys = service.subscribe()
    async with db.transaction(pool) as conn:
        await push_store.save_subscription(conn, user_id, endpoint, keys.p256dh, keys.auth)


async def enqueue(pool: db.Pool, user_id: uuid.UUID) -> None:
    async with db.transaction(pool) as conn:
        assert await reminder_store.enqueue_notification(
            conn, user_id, "test_notice", "one", DUE, DUE + timedelta(hours=2), NOTICE
        )


async def attempts(pool: db.Pool, user_id: uuid.UUID) -> list[dict[str, Any]]:
    async with db.transaction(pool) as conn:
        rows = await conn.fetch(
            "SELECT status_code, outcome, detail FROM push_attempts WHERE user_id = $1",
            user_id,
        )
    return [dict(r) for r in rows]


async def outbox_status(pool: db.Pool, user_id: uuid.UUID) -> list[str]:
    async with db.transaction(pool) as conn:
        rows = await conn.fetch("SELECT status FROM push_outbox WHERE user_id = $1", user_id)
    return [r["status"] for r in rows]


def dispatcher(pool: db.Pool, vapid: VapidKeys, session: Any) -> Dispatcher:
    # The clock is today's, so the clinician page counts the attempts as recent; the claim is
    # at DUE, so only this module's rows are taken.
    return Dispatcher(pool, vapid, session, clock=utc_now, jitter=lambda: 0.0, timeout=3)


# --- when a device subscribes ----------------------------------------------------------------

REFUSED = [
    "http://127.0.0.1:5432/",
    "https://127.0.0.1:5432/",
    f"http://localhost:{local_port()}/push/x",  # the local push service's port, by another name
    "https://0x7f000001/",
    "https://2130706433/",
    "https://127.1/",
    "https://localhost./",
    "https://localhost/",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[64:ff9b::7f00:1]/",
    "https://169.254.169.254/latest/meta-data/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://10.0.0.5/",
    "https://db.clinic.internal/",
    "https://fcm.googleapis.com.attacker.example/fcm/send/x",
    "https://attacker.example/fcm.googleapis.com/x",
    "https://fcm.googleapis.com:8443/fcm/send/x",  # an allowed name, another port
    "https://push.services.mozilla.com/wpush/v2/x",  # `*.` means a name under the domain
    "http://updates.push.services.mozilla.com/wpush/v2/x",  # plain http to a `*.` domain
    "https://fcm.googleapis.com\\@attacker.example/x",  # parsers disagree on a backslash
]


@pytest.mark.parametrize("endpoint", REFUSED)
async def test_an_endpoint_that_is_not_an_allowed_push_service_is_refused(
    tester: Client, pool: db.Pool, endpoint: str
) -> None:
    body = {
        "endpoint": endpoint,
        "keys": {
            "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u"
            "-Ts1XbjhazAkj7I99e8QcYP7DkM",
            "auth": "tBHItJI5svbpez7KI4CCXg",
        },
    }
    response = await tester.post("/api/v1/push/subscriptions", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "endpoint"
    async with db.transaction(pool) as conn:
        stored = await conn.fetchval(
            "SELECT count(*) FROM push_subscriptions WHERE user_id = $1::text::uuid",
            tester.me["id"],  # type: ignore[attr-defined]
        )
    assert stored == 0


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91bH",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABh",
        "https://web.push.apple.com/QGx5TW9uZXk",
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB%2bZ",
    ],
)
async def test_the_browsers_push_services_are_accepted(patient: Client, endpoint: str) -> None:
    body = {
        "endpoint": endpoint,
        "keys": {
            "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u"
            "-Ts1XbjhazAkj7I99e8QcYP7DkM",
            "auth": "tBHItJI5svbpez7KI4CCXg",
        },
    }
    response = await patient.post("/api/v1/push/subscriptions", json=body)
    assert response.status_code == 201, response.text


# --- when the worker connects ----------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:{port}/push/x",  # loopback, a port no one listed
        "http://localhost:{port}/push/x",
        "http://127.1:{port}/push/x",
        "http://0x7f000001:{port}/push/x",
        "http://2130706433:{port}/push/x",
        "https://127.0.0.1:{port}/push/x",
    ],
)
async def test_a_stored_endpoint_that_is_not_allowed_reaches_nothing(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    vapid: VapidKeys,
    settings: Settings,
    listener: Listener,
    endpoint: str,
) -> None:
    user = await people.user(role="clinician")
    await stored_device(pool, user, endpoint.format(port=listener.port), push_service)
    await enqueue(pool, user)
    async with push_session(settings) as session:
        stats = await dispatcher(pool, vapid, session).run_once(DUE)
    assert listener.connections == 0
    assert (stats.sent, stats.failed, stats.retrying) == (0, 1, 0)
    [attempt] = await attempts(pool, user)
    assert attempt["outcome"] == "rejected" and attempt["status_code"] is None
    assert await outbox_status(pool, user) == ["failed"]


@pytest.mark.parametrize(
    ("listed", "reached"),
    [
        ("*.push.services.mozilla.com:{port}", False),  # the name must resolve to public ones
        ("updates.push.services.mozilla.com:{port}", True),  # listed by name: trusted anywhere
    ],
)
async def test_a_push_service_name_that_resolves_here_reaches_nothing(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    vapid: VapidKeys,
    settings: Settings,
    listener: Listener,
    listed: str,
    reached: bool,
) -> None:
    # DNS rebinding: the name was public when the patient subscribed; now it points here.
    name = "updates.push.services.mozilla.com"
    user = await people.user(role="clinician")
    await stored_device(
        pool, user, f"https://{name}:{listener.port}/wpush/v2/gAAAAABh", push_service
    )
    await enqueue(pool, user)
    only = msgspec.structs.replace(settings, push_services=(listed.format(port=listener.port),))
    resolver = FixedResolver({name: ["127.0.0.1"]})
    async with push_session(only, resolver=resolver) as session:
        stats = await dispatcher(pool, vapid, session).run_once(DUE)
    assert resolver.asked == [name]
    if reached:  # the same lookup, listed by name: the listener is reached (a TLS failure)
        assert listener.connections >= 1
        assert [a["outcome"] for a in await attempts(pool, user)] == ["retry"]
        return
    assert listener.connections == 0
    assert (stats.sent, stats.failed, stats.retrying) == (0, 1, 0)
    [attempt] = await attempts(pool, user)
    assert attempt["outcome"] == "rejected" and "not public" in attempt["detail"]


async def test_a_redirect_is_not_followed(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    vapid: VapidKeys,
    settings: Settings,
    listener: Listener,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = await people.user(role="clinician")
    sub = await people.device(user, push_service)
    push_service.redirect(sub, f"http://127.0.0.1:{listener.port}/internal")
    await enqueue(pool, user)
    caplog.set_level(logging.WARNING, logger="afterglow.push")
    async with push_session(settings) as session:
        stats = await dispatcher(pool, vapid, session).run_once(DUE)
    assert [r.status for r in push_service.attempts_for(sub)] == [307]
    assert listener.connections == 0
    assert (stats.sent, stats.failed, stats.retrying) == (0, 1, 0)
    assert await attempts(pool, user) == [
        {"status_code": 307, "outcome": "rejected", "detail": "redirect not followed"}
    ]
    assert any("redirect" in r.getMessage() for r in caplog.records)


# --- what the patient (and their clinician) see ------------------------------------------------


async def test_the_patient_sees_delivered_or_not_never_a_status_code(
    patient: Client,
    clinician: Client,
    pool: db.Pool,
    push_service: PushService,
    vapid: VapidKeys,
    settings: Settings,
    listener: Listener,
) -> None:
    me = patient.me  # type: ignore[attr-defined]
    sub = push_service.subscribe()
    added = await patient.post("/api/v1/push/subscriptions", json=sub.as_json())
    assert added.status_code == 201, added.text
    document = (await patient.get("/api/v1/me/export")).json()
    [device] = document["devices"]
    assert device["delivery"] == "none_yet" and device["last_delivered_at"] is None

    push_service.redirect(sub, f"http://127.0.0.1:{listener.port}/", status=308)
    await enqueue(pool, uuid.UUID(me["id"]))
    async with push_session(settings) as session:
        await dispatcher(pool, vapid, session).run_once(DUE)

    document = (await patient.get("/api/v1/me/export")).json()
    [device] = document["devices"]
    assert set(device) == {"id", "created_at", "last_delivered_at", "delivery"}
    assert device["delivery"] == "not_delivered"
    assert "308" not in str(device) and "status" not in str(device)

    # The clinician learns that reminders fail, in words; the code stays in the worker's log.
    await share(patient, clinician)
    page = (await clinician.get(f"/clinician/patients/{me['id']}")).text
    assert "1 failed attempt" in page and "it was refused" in page
    assert "HTTP" not in page and "308" not in page


async def test_an_endpoint_another_account_holds_moves_only_with_its_keys(
    client_factory: Any, pool: db.Pool, push_service: PushService
) -> None:
    first, second = client_factory(), client_factory()
    one, two = await register(first), await register(second)
    device = push_service.subscribe()
    assert (
        await first.post("/api/v1/push/subscriptions", json=device.as_json())
    ).status_code == 201

    # Someone who learnt the endpoint (it is in logs and in the push service's answers) but
    # not the browser's keys cannot take the device's reminders.
    other_keys = push_service.subscribe().as_json()["keys"]
    taken = await second.post(
        "/api/v1/push/subscriptions", json={"endpoint": device.endpoint, "keys": other_keys}
    )
    assert taken.status_code == 409, taken.text
    assert taken.json()["field"] == "endpoint"
    async with db.transaction(pool) as conn:
        owner = await conn.fetchval(
            "SELECT user_id::text FROM push_subscriptions WHERE endpoint = $1", device.endpoint
        )
        keys = await conn.fetchrow(
            "SELECT p256dh, auth FROM push_subscriptions WHERE endpoint = $1", device.endpoint
        )
    assert owner == one["id"] and tuple(keys) == (device.p256dh, device.auth)

    # The same browser, signed in as someone else, subscribes with the same keys: it moves.
    moved = await second.post("/api/v1/push/subscriptions", json=device.as_json())
    assert moved.status_code == 200, moved.text
    async with db.transaction(pool) as conn:
        owner = await conn.fetchval(
            "SELECT user_id::text FROM push_subscriptions WHERE endpoint = $1", device.endpoint
        )
    assert owner == two["id"]
