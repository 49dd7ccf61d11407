"""Web push devices: the server's public key, and subscribing or unsubscribing a device."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from server import security
from server.api import AppSettings, CurrentUser, DbPool, Input, JSONBody
from server.db import transaction
from server.push.vapid import VapidKeys
from server.push.webpush import ENDPOINT_MAX, check_auth, check_endpoint, check_p256dh
from server.store import push as push_store
from server.store import reminders as reminder_store

Endpoint = Annotated[str, msgspec.Meta(max_length=ENDPOINT_MAX * 2)]
Key = Annotated[str, msgspec.Meta(max_length=200)]


class KeysIn(Input):
    p256dh: Key
    auth: Key


class SubscriptionIn(Input):
    """A browser's PushSubscription.toJSON() (expirationTime, if sent, is ignored)."""

    endpoint: Endpoint
    keys: KeysIn
    expirationTime: float | None = None


class UnsubscribeIn(Input):
    endpoint: Endpoint


class PublicKey(msgspec.Struct):
    public_key: str  # applicationServerKey: base64url of the uncompressed P-256 point


class SubscriptionOut(msgspec.Struct):
    id: UUID
    endpoint: str
    created_at: datetime


class PushController(Controller):
    path = "/api/v1/push"
    tags = ["push"]

    @get("/public-key")
    async def public_key(self, state: State) -> PublicKey:
        """The key to pass to pushManager.subscribe() as applicationServerKey."""
        vapid: VapidKeys = state.vapid
        return PublicKey(public_key=vapid.public_key)

    @post("/subscriptions", dependencies={"user": Provide(security.provide_user)})
    async def subscribe(
        self,
        data: JSONBody[SubscriptionIn],
        user: CurrentUser,
        pool: DbPool,
        settings: AppSettings,
    ) -> Response[SubscriptionOut]:
        """Add this device (201), or refresh it (200). A user may have several devices."""
        endpoint = check_endpoint(data.endpoint, settings.env)
        p256dh = check_p256dh(data.keys.p256dh)
        auth = check_auth(data.keys.auth)
        async with transaction(pool) as conn:
            saved, created = await push_store.save_subscription(
                conn, user.id, endpoint, p256dh, auth
            )
            await reminder_store.replan_patient(conn, user.id)
        return Response(
            SubscriptionOut(id=saved.id, endpoint=saved.endpoint, created_at=saved.created_at),
            status_code=HTTP_201_CREATED if created else HTTP_200_OK,
        )

    @delete(
        "/subscriptions",
        status_code=HTTP_204_NO_CONTENT,
        dependencies={"user": Provide(security.provide_user)},
    )
    async def unsubscribe(
        self, data: JSONBody[UnsubscribeIn], user: CurrentUser, pool: DbPool
    ) -> None:
        """Forget this device (also when it was never stored: the outcome is the same)."""
        async with transaction(pool) as conn:
            if await push_store.delete_subscription(conn, user.id, data.endpoint):
                await reminder_store.replan_patient(conn, user.id)
