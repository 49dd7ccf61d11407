"""The push and reminder endpoints: devices, preferences, and re-planning on every change."""

from __future__ import annotations

from typing import Any

import pytest

from server import db
from server.push.vapid import b64url, b64url_decode
from tests.helpers.accounts import register
from tests.helpers.client import Client
from tests.helpers.push import outbox
from tests.helpers.push_service import PushService

DEFAULTS = {
    "daily_checkin_time": "19:00",
    "weekly_phq9_day": "sunday",
    "weekly_phq9_time": "18:00",
    "infusion_day_before": True,
    "infusion_two_hours": True,
    "infusion_evening_after": True,
    "quiet_hours_start": "21:00",
    "quiet_hours_end": "08:00",
    "email_reminders": False,
    "good_day_mood": 7,
    "hard_day_mood": 3,
}


@pytest.fixture(scope="module")
async def tester(app: Any) -> Client:
    """One patient for the tables of bad input, which must leave nothing behind."""
    client = Client(app)
    client.me = await register(client)  # type: ignore[attr-defined]
    return client


async def devices_of(pool: db.Pool, user_id: str) -> list[str]:
    async with db.transaction(pool) as conn:
        rows = await conn.fetch(
            "SELECT endpoint FROM push_subscriptions WHERE user_id = $1::text::uuid ORDER BY 1",
            user_id,
        )
    return [r["endpoint"] for r in rows]


async def test_public_key_is_the_apps_uncompressed_p256_point(
    client_factory: Any, app: Any
) -> None:
    response = await client_factory().get("/api/v1/push/public-key")
    assert response.status_code == 200
    key = response.json()["public_key"]
    raw = b64url_decode(key)
    assert len(raw) == 65 and raw[0] == 4 and "=" not in key
    assert key == app.state.vapid.public_key


async def test_devices_come_and_go(
    patient: Client, pool: db.Pool, push_service: PushService
) -> None:
    phone, laptop = push_service.subscribe(), push_service.subscribe()
    me = patient.me  # type: ignore[attr-defined]

    first = await patient.post("/api/v1/push/subscriptions", json=phone.as_json())
    assert first.status_code == 201 and first.json()["endpoint"] == phone.endpoint
    browser_json = {**laptop.as_json(), "expirationTime": None}
    assert (await patient.post("/api/v1/push/subscriptions", json=browser_json)).status_code == 201
    again = await patient.post("/api/v1/push/subscriptions", json=phone.as_json())
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert await devices_of(pool, me["id"]) == sorted([phone.endpoint, laptop.endpoint])
    # Subscribing planned the default reminders.
    assert {r["kind"] for r in await outbox(pool, me["id"], "pending")} >= {"daily_checkin"}

    response = await patient.request(
        "DELETE", "/api/v1/push/subscriptions", json={"endpoint": phone.endpoint}
    )
    assert response.status_code == 204
    again_gone = await patient.request(
        "DELETE", "/api/v1/push/subscriptions", json={"endpoint": phone.endpoint}
    )
    assert again_gone.status_code == 204
    assert await devices_of(pool, me["id"]) == [laptop.endpoint]

    await patient.request(
        "DELETE", "/api/v1/push/subscriptions", json={"endpoint": laptop.endpoint}
    )
    # No device left: nothing stays planned.
    assert await outbox(pool, me["id"], "pending") == []


async def test_a_device_moves_to_whoever_subscribes_it_last(
    client_factory: Any, pool: db.Pool, push_service: PushService
) -> None:
    first, second = client_factory(), client_factory()
    one, two = await register(first), await register(second)
    shared = push_service.subscribe().as_json()
    assert (await first.post("/api/v1/push/subscriptions", json=shared)).status_code == 201
    assert (await second.post("/api/v1/push/subscriptions", json=shared)).status_code == 200
    assert await devices_of(pool, one["id"]) == []
    assert await devices_of(pool, two["id"]) == [shared["endpoint"]]
    # Someone else's device cannot be unsubscribed.
    await first.request(
        "DELETE", "/api/v1/push/subscriptions", json={"endpoint": shared["endpoint"]}
    )
    assert await devices_of(pool, two["id"]) == [shared["endpoint"]]


async def test_subscribing_needs_a_session_and_csrf(
    client_factory: Any, patient: Client, push_service: PushService
) -> None:
    anonymous = await client_factory().post(
        "/api/v1/push/subscriptions", json=push_service.subscribe().as_json()
    )
    assert anonymous.status_code == 401
    patient.csrf = False
    forged = await patient.post(
        "/api/v1/push/subscriptions", json=push_service.subscribe().as_json()
    )
    assert forged.status_code == 403


POINT = b64url(b"\x04" + bytes(64))  # 65 bytes, but not on the curve
GOOD_ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc123"


def subscription(**changes: Any) -> dict[str, Any]:
    keys = {
        "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u"
        "-Ts1XbjhazAkj7I99e8QcYP7DkM",
        "auth": "tBHItJI5svbpez7KI4CCXg",
    }
    body: dict[str, Any] = {"endpoint": GOOD_ENDPOINT, "keys": keys}
    for name, value in changes.items():
        if name in ("p256dh", "auth"):
            if value is None:
                del keys[name]
            else:
                keys[name] = value
        elif value is None:
            del body[name]
        else:
            body[name] = value
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (subscription(endpoint=None), "endpoint"),
        (subscription(endpoint="not a url"), "endpoint"),
        (subscription(endpoint="ftp://push.example.com/x"), "endpoint"),
        (subscription(endpoint="http://push.example.com/x"), "endpoint"),
        (subscription(endpoint="https://user:pw@push.example.com/x"), "endpoint"),
        (subscription(endpoint="https://push.example.com/" + "x" * 2100), "endpoint"),
        (subscription(endpoint=42), "endpoint"),
        (subscription(keys=None), "keys"),
        (subscription(p256dh="!!!notbase64!!!"), "keys.p256dh"),
        (subscription(p256dh=b64url(b"\x04" + bytes(10))), "keys.p256dh"),
        (subscription(p256dh=POINT), "keys.p256dh"),
        (subscription(p256dh=None), "keys.p256dh"),
        (subscription(auth=b64url(bytes(15))), "keys.auth"),
        (subscription(auth=7), "keys.auth"),
        (subscription(color="blue"), "color"),
    ],
)
async def test_bad_subscriptions_are_refused_naming_the_field(
    tester: Client, pool: db.Pool, body: dict[str, Any], field: str
) -> None:
    response = await tester.post("/api/v1/push/subscriptions", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == field
    assert await devices_of(pool, tester.me["id"]) == []  # type: ignore[attr-defined]


async def test_the_good_subscription_of_the_table_is_accepted(patient: Client) -> None:
    response = await patient.post("/api/v1/push/subscriptions", json=subscription())
    assert response.status_code == 201, response.text


async def test_preferences_round_trip_and_re_plan(
    patient: Client, pool: db.Pool, push_service: PushService
) -> None:
    me = patient.me  # type: ignore[attr-defined]
    assert (await patient.get("/api/v1/me/reminders")).json() == DEFAULTS
    await patient.post("/api/v1/push/subscriptions", json=push_service.subscribe().as_json())
    before = {(r["kind"], r["due_at"]) for r in await outbox(pool, me["id"], "pending")}

    changed = {
        **DEFAULTS,
        "daily_checkin_time": "09:15",
        "weekly_phq9_day": None,
        "weekly_phq9_time": None,
    }
    response = await patient.put("/api/v1/me/reminders", json=changed)
    assert response.status_code == 200 and response.json() == changed
    assert (await patient.get("/api/v1/me/reminders")).json() == changed
    after = await outbox(pool, me["id"], "pending")
    assert {r["kind"] for r in after} == {"daily_checkin"}
    assert all(
        r["due_at"].astimezone(_zone("America/New_York")).strftime("%H:%M") == "09:15"
        for r in after
    )
    assert before != {(r["kind"], r["due_at"]) for r in after}

    off = {**changed, "daily_checkin_time": None}
    assert (await patient.put("/api/v1/me/reminders", json=off)).status_code == 200
    assert await outbox(pool, me["id"], "pending") == []


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


async def test_a_new_time_zone_moves_planned_reminders(
    patient: Client, pool: db.Pool, push_service: PushService
) -> None:
    me = patient.me  # type: ignore[attr-defined]
    await patient.post("/api/v1/push/subscriptions", json=push_service.subscribe().as_json())
    daily = [r for r in await outbox(pool, me["id"], "pending") if r["kind"] == "daily_checkin"]
    assert {r["due_at"].astimezone(_zone("America/New_York")).hour for r in daily} == {19}

    response = await patient.patch("/api/v1/me", json={"timezone": "Asia/Kolkata"})
    assert response.status_code == 200

    daily = [r for r in await outbox(pool, me["id"], "pending") if r["kind"] == "daily_checkin"]
    assert daily and {r["due_at"].astimezone(_zone("Asia/Kolkata")).hour for r in daily} == {19}


async def test_reminders_inside_patch_me(patient: Client) -> None:
    response = await patient.patch(
        "/api/v1/me", json={"display_name": "Ada", "reminders": {"quiet_hours_start": "22:30"}}
    )
    assert response.status_code == 200
    assert (await patient.get("/api/v1/me/reminders")).json()["quiet_hours_start"] == "22:30"
    bad = await patient.patch(
        "/api/v1/me", json={"display_name": "Bob", "reminders": {"daily_checkin_time": "23:00"}}
    )
    assert bad.status_code == 400 and bad.json()["field"] == "reminders.daily_checkin_time"
    assert (await patient.get("/api/v1/me")).json()["display_name"] == "Ada"  # all or nothing


async def test_clinicians_have_no_reminder_preferences(clinician: Client) -> None:
    assert (await clinician.get("/api/v1/me/reminders")).status_code == 403
    assert (await clinician.put("/api/v1/me/reminders", json=DEFAULTS)).status_code == 403
    response = await clinician.patch(
        "/api/v1/me", json={"reminders": {"infusion_two_hours": False}}
    )
    assert response.status_code == 400 and response.json()["field"] == "reminders"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"daily_checkin_time": "25:00"}, "daily_checkin_time"),
        ({"daily_checkin_time": "8:00"}, "daily_checkin_time"),
        ({"daily_checkin_time": "08:00:00"}, "daily_checkin_time"),
        ({"daily_checkin_time": 800}, "daily_checkin_time"),
        ({"daily_checkin_time": "22:00"}, "daily_checkin_time"),  # inside quiet hours
        ({"weekly_phq9_day": "funday"}, "weekly_phq9_day"),
        ({"weekly_phq9_time": None}, "weekly_phq9_time"),
        ({"infusion_two_hours": "yes"}, "infusion_two_hours"),
        ({"quiet_hours_end": None}, "quiet_hours_end"),
        ({"quiet_hours_start": "08:00"}, "quiet_hours_end"),
        ({"quiet_hours_start": "7pm"}, "quiet_hours_start"),
        ({"snooze": True}, "snooze"),
        ({"infusion_evening_after": None}, "infusion_evening_after"),
    ],
)
async def test_bad_preferences_are_refused_naming_the_field(
    tester: Client, pool: db.Pool, changes: dict[str, Any], field: str
) -> None:
    response = await tester.put("/api/v1/me/reminders", json={**DEFAULTS, **changes})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert (await tester.get("/api/v1/me/reminders")).json() == DEFAULTS
    async with db.transaction(pool) as conn:  # nothing stored
        assert not await conn.fetchval(
            "SELECT count(*) FROM reminder_prefs WHERE patient_id = $1::text::uuid",
            tester.me["id"],  # type: ignore[attr-defined]
        )


async def test_a_missing_preference_is_named(tester: Client) -> None:
    body = {k: v for k, v in DEFAULTS.items() if k != "infusion_day_before"}
    response = await tester.put("/api/v1/me/reminders", json=body)
    assert response.status_code == 400
    assert response.json()["field"] == "infusion_day_before"
