"""Web push devices: the server's public key, and subscribing or unsubscribing a device."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from server import web
from server.domain.devices import ENDPOINT_MAX
from server.domain.receipts import DeviceReport, Receipt
from server.services import devices

Endpoint = Annotated[str, msgspec.Meta(max_length=ENDPOINT_MAX * 2)]
Key = Annotated[str, msgspec.Meta(max_length=200)]


class KeysIn(web.Input):
    p256dh: Key
    auth: Key


class SubscriptionIn(web.Input):
    """A browser's PushSubscription.toJSON() (expirationTime, if sent, is ignored)."""

    endpoint: Endpoint
    keys: KeysIn
    expirationTime: float | None = None


class UnsubscribeIn(web.Input):
    endpoint: Endpoint


class ReceiptsIn(web.Input):
    """What a device's outbox kept of its reminders: ids and events, nothing else."""

    receipts: list[Receipt]


class ReceiptsOut(msgspec.Struct):
    recorded: int  # new ones; a repeat is not counted again


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
        public_key: str = state.vapid_public_key
        return PublicKey(public_key=public_key)

    @post("/subscriptions", guards=[web.signed_in])
    async def subscribe(
        self,
        request: Request[Any, Any, Any],
        data: web.JSONBody[SubscriptionIn],
        user: web.CurrentUser,
        pool: web.DbPool,
        settings: web.AppSettings,
    ) -> Response[SubscriptionOut]:
        """Add this device (201), or refresh it (200). A user may have several devices."""
        saved, created = await devices.subscribe(
            pool,
            settings,
            user,
            data.endpoint,
            data.keys.p256dh,
            data.keys.auth,
            web.client_address(request),
        )
        return Response(
            SubscriptionOut(id=saved.id, endpoint=saved.endpoint, created_at=saved.created_at),
            status_code=HTTP_201_CREATED if created else HTTP_200_OK,
        )

    @delete(
        "/subscriptions",
        status_code=HTTP_204_NO_CONTENT,
        guards=[web.signed_in],
    )
    async def unsubscribe(
        self, data: web.JSONBody[UnsubscribeIn], user: web.CurrentUser, pool: web.DbPool
    ) -> None:
        """Forget this device (also when it was never stored: the outcome is the same)."""
        await devices.unsubscribe(pool, user.id, data.endpoint)

    @post("/receipts", guards=[web.patients_only], status_code=HTTP_200_OK)
    async def receipts(
        self, data: web.JSONBody[ReceiptsIn], user: web.CurrentUser, pool: web.DbPool
    ) -> ReceiptsOut:
        """ "shown" / "opened" for reminders, from a device (its service worker or the page a
        notification opened). Replaying a batch changes nothing."""
        return ReceiptsOut(recorded=await devices.record_receipts(pool, user, data.receipts))

    @get("/devices", guards=[web.patients_only])
    async def device_reports(self, user: web.CurrentUser, pool: web.DbPool) -> list[DeviceReport]:
        """Each device: its reminders of the last two weeks delivered, shown and opened."""
        return await devices.device_reports(pool, user)
