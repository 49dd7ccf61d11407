"""The dispatcher against a local push service: what each answer does, retries, leases, races."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from server import db
from server.domain.reminders import PushPayload
from server.push.dispatcher import Dispatcher
from server.push.vapid import b64url, new_private_key, public_key_of
from server.store import reminders as reminder_store
from tests.helpers.push import Clock, People, at, outbox
from tests.helpers.push_service import PushService

T0 = at("2025-02-03T15:00:00+00:00")
ATTENTION = PushPayload("Afterglow", "A patient needs your attention", "/clinician", "attention")


async def enqueue(
    pool: db.Pool,
    user_id: UUID,
    occurrence: str = "one",
    *,
    due: datetime = T0,
    stale_after: timedelta = timedelta(hours=2),
    payload: PushPayload = ATTENTION,
) -> None:
    async with db.transaction(pool) as conn:
        assert await reminder_store.enqueue_notification(
            conn, user_id, "test_notice", occurrence, due, due + stale_after, payload
        )


async def attempts(pool: db.Pool, user_id: UUID) -> list[dict[str, Any]]:
    async with db.transaction(pool) as conn:
        rows = await conn.fetch(
            """SELECT subscription_id, status_code, outcome, attempted_at FROM push_attempts
               WHERE user_id = $1 ORDER BY id""",
            user_id,
        )
    return [dict(r) for r in rows]


async def devices(pool: db.Pool, user_id: UUID) -> list[dict[str, Any]]:
    async with db.transaction(pool) as conn:
        rows = await conn.fetch(
            """SELECT endpoint, last_success_at, last_failure_at, last_failure_status,
                      failures_in_row FROM push_subscriptions WHERE user_id = $1""",
            user_id,
        )
    return [dict(r) for r in rows]


async def test_every_device_gets_the_encrypted_payload(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    user = await people.user(role="clinician")
    phone, laptop = await people.device(user, push_service), await people.device(user, push_service)
    await enqueue(pool, user, stale_after=timedelta(minutes=90))

    stats = await make_dispatcher(Clock(T0)).run_until_idle()

    assert (stats.sent, stats.delivered) == (1, 2)
    for sub in (phone, laptop):
        [delivery] = push_service.delivered_to(sub)
        assert delivery.json() == {
            "title": "Afterglow",
            "body": "A patient needs your attention",
            "url": "/clinician",
            "tag": "attention",
        }
        assert delivery.ttl == 90 * 60  # until the notice goes stale
        assert (delivery.urgency, delivery.topic) == ("normal", "attention")
        assert delivery.claims["sub"] == "mailto:admin@localhost"
    [row] = await outbox(pool, user)
    assert (row["status"], row["attempts"]) == ("sent", 1)
    assert [a["outcome"] for a in await attempts(pool, user)] == ["delivered", "delivered"]
    assert all(d["last_success_at"] == T0 for d in await devices(pool, user))


async def test_gone_devices_are_deleted(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    user = await people.user()
    gone, missing, kept = [await people.device(user, push_service) for _ in range(3)]
    push_service.forget(gone)  # 410
    push_service.answer(missing, 404)
    await enqueue(pool, user)

    stats = await make_dispatcher(Clock(T0)).run_until_idle()

    assert stats.sent == 1 and len(push_service.deliveries) == 1
    assert [d["endpoint"] for d in await devices(pool, user)] == [kept.endpoint]
    outcomes = sorted((a["status_code"], a["outcome"]) for a in await attempts(pool, user))
    assert outcomes == [(201, "delivered"), (404, "gone"), (410, "gone")]


async def test_a_vapid_fault_keeps_the_device(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    user = await people.user()
    # Subscribed under another server key, as after a careless key change: the service says 403.
    other_key = public_key_of(new_private_key())
    await people.device(user, push_service, application_server_key=other_key)
    await enqueue(pool, user)

    stats = await make_dispatcher(Clock(T0)).run_until_idle()

    assert (stats.failed, stats.retrying, len(push_service.deliveries)) == (1, 0, 0)
    assert push_service.vapid_failures
    [device] = await devices(pool, user)
    assert (device["last_failure_status"], device["failures_in_row"]) == (403, 1)
    assert [a["outcome"] for a in await attempts(pool, user)] == ["vapid_rejected"]
    [row] = await outbox(pool, user)
    assert row["status"] == "failed"


async def test_429_waits_for_retry_after(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    user = await people.user()
    sub = await people.device(user, push_service)
    push_service.script(sub, 429, retry_after=120)
    await enqueue(pool, user)
    clock = Clock(T0)
    dispatcher = make_dispatcher(clock)

    assert (await dispatcher.run_until_idle()).retrying == 1
    [row] = await outbox(pool, user)
    assert (row["status"], row["next_attempt_at"]) == ("pending", T0 + timedelta(seconds=120))
    clock.advance(seconds=119)
    assert (await dispatcher.run_until_idle()).claimed == 0
    clock.advance(seconds=1)
    assert (await dispatcher.run_until_idle()).sent == 1

    assert len(push_service.delivered_to(sub)) == 1
    assert [a["outcome"] for a in await attempts(pool, user)] == ["retry", "delivered"]
    [device] = await devices(pool, user)
    assert device["failures_in_row"] == 0 and device["last_failure_status"] == 429


async def test_5xx_backs_off_exponentially_until_stale_then_expires(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    user = await people.user()
    sub = await people.device(user, push_service)
    push_service.answer(sub, 500)
    await enqueue(pool, user, stale_after=timedelta(minutes=5))
    clock = Clock(T0)
    dispatcher = make_dispatcher(clock)

    waits = []
    while True:
        stats = await dispatcher.run_until_idle()
        [row] = await outbox(pool, user)
        if row["status"] != "pending":
            break
        waits.append(row["next_attempt_at"] - clock.now)
        clock.now = row["next_attempt_at"]

    assert waits == [timedelta(seconds=s) for s in (30, 60, 120)]  # the next, 240 s, is stale
    assert (row["status"], stats.expired) == ("expired", 1)
    assert len(push_service.attempts_for(sub)) == 4 and not push_service.deliveries


async def test_a_stale_reminder_is_expired_never_sent_late(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    user = await people.user()
    await people.device(user, push_service)
    await enqueue(pool, user, stale_after=timedelta(hours=1))

    stats = await make_dispatcher(Clock(T0 + timedelta(hours=1))).run_until_idle()

    assert (stats.claimed, stats.expired, stats.pushes) == (1, 1, 0)
    assert not push_service.requests
    [row] = await outbox(pool, user)
    assert row["status"] == "expired"


async def test_a_timeout_is_retried_and_only_the_failed_device_gets_the_retry(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    user = await people.user()
    quick, slow = await people.device(user, push_service), await people.device(user, push_service)
    push_service.stall(slow)
    await enqueue(pool, user)
    clock = Clock(T0)
    dispatcher = make_dispatcher(clock, timeout=0.2)

    first = await dispatcher.run_until_idle()
    push_service.release()
    clock.advance(seconds=30)
    second = await dispatcher.run_until_idle()

    assert (first.delivered, first.retrying, second.sent) == (1, 1, 1)
    assert len(push_service.delivered_to(quick)) == 1
    assert len(push_service.delivered_to(slow)) == 1
    outcomes = [a["outcome"] for a in await attempts(pool, user)]
    assert sorted(outcomes) == ["delivered", "delivered", "timeout"]


async def test_two_dispatchers_racing_deliver_each_reminder_exactly_once(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    users = [await people.user() for _ in range(50)]
    for user in users:
        await people.device(user, push_service)
    async with db.transaction(pool) as conn:
        for n in range(1000):
            payload = PushPayload("Afterglow", "Race", f"/?n={n}", "race")
            await reminder_store.enqueue_notification(
                conn, users[n % 50], "test_race", str(n), T0, T0 + timedelta(hours=1), payload
            )
    first = make_dispatcher(Clock(T0), batch_size=40)
    second = make_dispatcher(Clock(T0), batch_size=40)

    a, b = await asyncio.gather(first.run_until_idle(), second.run_until_idle())

    assert a.sent + b.sent == 1000
    assert a.sent > 0 and b.sent > 0
    urls = [d.json()["url"] for d in push_service.deliveries]
    assert len(urls) == 1000 and len(set(urls)) == 1000
    async with db.transaction(pool) as conn:
        counts = await conn.fetchrow(
            """SELECT count(*) FILTER (WHERE status = 'sent') AS sent, max(attempts) AS most
               FROM push_outbox WHERE user_id = ANY($1::uuid[])""",
            users,
        )
    assert (counts["sent"], counts["most"]) == (1000, 1)


async def test_a_crashed_dispatchers_claim_goes_to_another_after_the_lease(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    user = await people.user()
    sub = await people.device(user, push_service)
    for n in range(5):
        await enqueue(pool, user, f"crash-{n}")
    clock = Clock(T0)
    lease = timedelta(seconds=30)

    batch = await make_dispatcher(clock, lease=lease).claim()  # ... and dies before sending
    assert len(batch.rows) == 5
    survivor = make_dispatcher(clock, lease=lease)
    assert (await survivor.run_until_idle()).claimed == 0  # still leased
    clock.advance(seconds=30)
    stats = await survivor.run_until_idle()

    assert stats.sent == 5 and len(push_service.delivered_to(sub)) == 5
    assert {r["attempts"] for r in await outbox(pool, user)} == {2}


async def test_a_dispatcher_cancelled_mid_send_leaves_its_batch_to_another(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    user = await people.user()
    sub = await people.device(user, push_service)
    for n in range(3):
        await enqueue(pool, user, f"cancel-{n}")
    push_service.stall(sub)
    clock = Clock(T0)
    lease = timedelta(seconds=30)

    doomed = asyncio.create_task(make_dispatcher(clock, lease=lease).run_once())
    for _ in range(200):
        if push_service.stalled_requests == 3:
            break
        await asyncio.sleep(0.01)
    assert push_service.stalled_requests == 3
    doomed.cancel()
    await asyncio.gather(doomed, return_exceptions=True)
    push_service.release()
    clock.advance(seconds=31)
    stats = await make_dispatcher(clock, lease=lease).run_until_idle()

    assert stats.sent == 3
    assert len(push_service.delivered_to(sub)) == 3
    assert {r["status"] for r in await outbox(pool, user)} == {"sent"}


async def test_a_row_the_planner_cancels_mid_send_stays_cancelled(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    user = await people.user()
    sub = await people.device(user, push_service)
    await enqueue(pool, user)
    dispatcher = make_dispatcher(Clock(T0))
    batch = await dispatcher.claim()
    async with db.transaction(pool) as conn:  # as the planner does when a time no longer holds
        await conn.execute(
            """UPDATE push_outbox SET status = 'cancelled', claim_token = NULL, finished_at = $2
               WHERE user_id = $1""",
            user,
            T0,
        )

    stats = await dispatcher.deliver(batch)

    assert stats.delivered == 1 and len(push_service.delivered_to(sub)) == 1  # already on its way
    [row] = await outbox(pool, user)
    assert row["status"] == "cancelled"
    assert [a["outcome"] for a in await attempts(pool, user)] == ["delivered"]


async def test_a_device_whose_keys_cannot_be_used_fails_alone(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    user = await people.user()
    good = await people.device(user, push_service)
    async with db.transaction(pool) as conn:  # no such key passes the API; a stored one may rot
        await conn.execute(
            """INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth)
               VALUES ($1, $2, 'BAAA', 'AAAA')""",
            user,
            f"{push_service.base_url}/push/unusable",
        )
    await enqueue(pool, user)

    stats = await make_dispatcher(Clock(T0)).run_until_idle()

    assert (stats.sent, stats.pushes, stats.delivered) == (1, 2, 1)
    assert len(push_service.delivered_to(good)) == 1 and len(push_service.requests) == 1
    assert sorted(a["outcome"] for a in await attempts(pool, user)) == ["delivered", "error"]


async def test_enqueue_notification_dedupes_on_its_key(pool: db.Pool, people: People) -> None:
    user = await people.user(role="clinician")
    async with db.transaction(pool) as conn:
        first = await reminder_store.enqueue_notification(
            conn, user, "patient_attention", "p1:2025-02-03", T0, T0 + timedelta(hours=4), ATTENTION
        )
        again = await reminder_store.enqueue_notification(
            conn, user, "patient_attention", "p1:2025-02-03", T0, T0 + timedelta(hours=4), ATTENTION
        )
    assert (first, again) == (True, False)
    assert len(await outbox(pool, user)) == 1
    assert b64url(b"x") == "eA"  # the helper the API tests use for keys


async def test_a_declarative_payload_goes_as_stored_with_its_notifications_tag_as_topic(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    user = await people.user()
    sub = await people.device(user, push_service)
    await enqueue(pool, user)
    declarative = {
        "web_push": 8030,
        "notification": {"title": "Afterglow", "body": "A moment", "navigate": "/", "tag": "x y"},
    }
    async with db.transaction(pool) as conn:
        await conn.execute(
            "UPDATE push_outbox SET payload = $2::text::jsonb WHERE user_id = $1",
            user,
            json.dumps(declarative),
        )

    stats = await make_dispatcher(Clock(T0)).run_until_idle()

    assert stats.sent == 1
    [delivery] = push_service.delivered_to(sub)
    assert delivery.json() == declarative
    assert delivery.topic == "x-y"  # a newer reminder with the same tag replaces this one


async def test_the_next_batch_is_claimed_while_one_is_still_being_encrypted(
    pool: db.Pool,
    people: People,
    push_service: PushService,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    users = [await people.user() for _ in range(6)]
    for n, user in enumerate(users):
        sub = await people.device(user, push_service)
        push_service.stall(sub)
        await enqueue(pool, user, f"ahead-{n}")
    # One sender: the first push hangs, so the first batch's encryption cannot finish.
    dispatcher = make_dispatcher(Clock(T0), batch_size=3, concurrency=1, timeout=30)

    sending = asyncio.create_task(dispatcher.run_until_idle())
    claimed = 0
    for _ in range(500):
        rows = [r for u in users for r in await outbox(pool, u)]
        claimed = sum(r["attempts"] for r in rows)
        if push_service.stalled_requests == 1 and claimed == 6:
            break
        await asyncio.sleep(0.01)
    push_service.release()
    stats = await sending

    assert claimed == 6  # the database's round trip did not wait for the senders
    # The held push is answered 503 when released (a retry); the other five are delivered.
    assert (stats.claimed, stats.sent, stats.retrying) == (6, 5, 1)
    assert len(push_service.deliveries) == 5
