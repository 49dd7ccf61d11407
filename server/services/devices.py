"""A user's devices for web push: subscribing and unsubscribing. Reminders are re-planned in
the same transaction (a patient with no device gets none planned)."""

from __future__ import annotations

from uuid import UUID

from server.config import Settings
from server.db import Pool, transaction
from server.domain.devices import check_auth, check_endpoint, check_p256dh
from server.store import push as push_store
from server.store import reminders as reminder_store
from server.store.push import Subscription


async def subscribe(
    pool: Pool, settings: Settings, user_id: UUID, endpoint: str, p256dh: str, auth: str
) -> tuple[Subscription, bool]:
    """Add this device (True), or refresh it (False)."""
    endpoint = check_endpoint(endpoint, production=settings.env == "production")
    p256dh = check_p256dh(p256dh)
    auth = check_auth(auth)
    async with transaction(pool) as conn:
        saved, created = await push_store.save_subscription(conn, user_id, endpoint, p256dh, auth)
        await reminder_store.replan_patient(conn, user_id)
    return saved, created


async def unsubscribe(pool: Pool, user_id: UUID, endpoint: str) -> None:
    """Forget this device (also when it was never stored: the outcome is the same)."""
    async with transaction(pool) as conn:
        if await push_store.delete_subscription(conn, user_id, endpoint):
            await reminder_store.replan_patient(conn, user_id)
