"""A user's devices for web push: subscribing and unsubscribing (reminders are re-planned in
the same transaction: a patient with no device gets none planned, unless they get reminders by
email), the receipts a device reports for a reminder ("shown", "opened"), and what became of
the last reminders on each device."""

from __future__ import annotations

from urllib.parse import urlsplit
from uuid import UUID

from server.config import Settings
from server.db import Pool, transaction
from server.domain.accounts import User
from server.domain.devices import PushServices, check_auth, check_endpoint, check_p256dh
from server.domain.receipts import MAX_RECEIPTS, DeviceReport, Receipt, report
from server.errors import Conflict, InvalidField
from server.store import audit
from server.store import push as push_store
from server.store import receipts as receipt_store
from server.store import reminders as reminder_store
from server.store.push import Subscription
from server.timeutil import utc_now


def push_services(settings: Settings) -> PushServices:
    """Where push endpoints may point (AFTERGLOW_PUSH_SERVICES)."""
    return PushServices(settings.push_services, production=settings.env == "production")


async def subscribe(
    pool: Pool, settings: Settings, user: User, endpoint: str, p256dh: str, auth: str, address: str
) -> tuple[Subscription, bool]:
    """Add this device (True), or refresh it (False). A new device is in the user's trail (a
    patient's access log): reminders go wherever it is."""
    endpoint = check_endpoint(endpoint, push_services(settings))
    p256dh = check_p256dh(p256dh)
    auth = check_auth(auth)
    async with transaction(pool) as conn:
        saved = await push_store.save_subscription(conn, user.id, endpoint, p256dh, auth)
        if saved is None:
            raise Conflict(
                "This device is registered to another account.",
                field="endpoint",
            )
        await reminder_store.replan_patient(conn, user.id)
        if saved[1]:
            await audit.record(
                conn,
                actor=user,
                patient_id=user.id if user.role == "patient" else None,
                action="device_add",
                address=address,
                # Which push service (Apple's, Google's, Mozilla's), not the device's address.
                detail={"push_service": urlsplit(saved[0].endpoint).hostname},
            )
    return saved


async def unsubscribe(pool: Pool, user_id: UUID, endpoint: str) -> None:
    """Forget this device (also when it was never stored: the outcome is the same)."""
    async with transaction(pool) as conn:
        if await push_store.delete_subscription(conn, user_id, endpoint):
            await reminder_store.replan_patient(conn, user_id)


async def record_receipts(pool: Pool, user: User, receipts: list[Receipt]) -> int:
    """Store what a device reports of its reminders (a batch its outbox kept while offline);
    returns how many were new."""
    if len(receipts) > MAX_RECEIPTS:
        raise InvalidField("receipts", f"Send at most {MAX_RECEIPTS} at a time.")
    async with transaction(pool) as conn:
        return await receipt_store.record(conn, user.id, receipts, utc_now())


async def device_reports(pool: Pool, user: User) -> list[DeviceReport]:
    """Each of the user's devices: their last reminders delivered, shown and opened."""
    async with transaction(pool) as conn:
        return [report(d) for d in await receipt_store.per_device(conn, user.id, utc_now())]
