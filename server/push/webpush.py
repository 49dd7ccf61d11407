"""One Web Push (RFC 8030) to one device, encrypted (RFC 8291) and signed (RFC 8292)."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from uuid import UUID

import aiohttp
import msgspec
from pywebpush import WebPusher

from server.domain.devices import Device, Outcome
from server.push.outbound import DestinationRefused
from server.push.vapid import VapidKeys

log = logging.getLogger("afterglow.push")

ENDPOINT_MAX = 2048
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_TOPIC_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_ANSWER_MAX = 65536  # bytes of a push service's answer read; the rest is dropped


# --- sending ---------------------------------------------------------------------------------


class Result(msgspec.Struct, frozen=True):
    outcome: Outcome
    status: int | None = None
    retry_after: float | None = None  # seconds, from the push service's Retry-After
    detail: str | None = None


def topic_for(tag: str) -> str:
    """RFC 8030 §5.4: at most 32 URL-safe base64 characters. A newer push with the same topic
    replaces one the device has not picked up yet."""
    return _TOPIC_UNSAFE.sub("-", tag)[:32] or "afterglow"


def topic_of(payload: dict[str, Any], kind: str) -> str:
    """The Topic of a push: its notification's tag, in a plain payload (``tag``) or a
    declarative one (``notification.tag``), else its kind."""
    notification = payload.get("notification")
    tag = notification.get("tag") if isinstance(notification, dict) else payload.get("tag")
    return topic_for(str(tag or kind))


class Message(msgspec.Struct, frozen=True):
    """One push, encrypted for its device and ready to post."""

    device: UUID
    endpoint: str
    body: bytes
    headers: dict[str, str]


def row_headers(*, ttl: int, urgency: str, topic: str) -> dict[str, str]:
    """The headers of a push that are the same for every device of one reminder."""
    return {"Content-Encoding": "aes128gcm", "TTL": str(ttl), "Urgency": urgency, "Topic": topic}


def encrypt(vapid: VapidKeys, device: Device, payload: bytes, headers: dict[str, str]) -> Message:
    """Encrypt ``payload`` for ``device`` (RFC 8291, aes128gcm, by pywebpush) and sign the
    request (RFC 8292) beside ``headers`` (from ``row_headers``). Synchronous CPU work, about
    0.1 ms: the dispatcher paces calls so that no event-loop turn does many. Raises
    WebPushException for an unusable subscription."""
    info = {"endpoint": device.endpoint, "keys": {"p256dh": device.p256dh, "auth": device.auth}}
    # pywebpush's encode() takes bytes; a str payload is encoded differently by its versions.
    encrypted = WebPusher(info).encode(payload, content_encoding="aes128gcm")
    return Message(
        device=device.id,
        endpoint=device.endpoint,
        body=encrypted["body"],
        # Signed here rather than by pywebpush (vapid_claims), so a token can be reused.
        headers={**headers, "Authorization": vapid.authorization(device.endpoint)},
    )


async def post(
    session: aiohttp.ClientSession, message: Message, *, answer_within: float, now: datetime
) -> Result:
    """Post one encrypted push on the shared session and classify the answer; never raises
    for what a push service does.

    This is what pywebpush's ``webpush_async`` does after encrypting (one POST, a timeout,
    201/202 accepted, anything above a failure), taken apart so the dispatcher can pace the
    encryption on its own: ``webpush_async`` encrypts and posts in one call.

    A redirect is a failure, never followed: it would lead the worker to wherever the answer
    points, past the check of where it may connect (server/push/outbound.py).
    """
    try:
        async with asyncio.timeout(answer_within + 1):  # belt and braces over aiohttp's own timeout
            async with session.post(
                message.endpoint,
                data=message.body,
                headers=message.headers,
                timeout=aiohttp.ClientTimeout(total=answer_within),
                allow_redirects=False,
            ) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                # Read (a bounded part of) the answer so the connection can be reused.
                await response.content.read(_ANSWER_MAX)
    except TimeoutError:
        return Result("timeout", detail=f"no answer within {answer_within:g} s")
    except DestinationRefused as exc:
        log.warning("push to device %s not sent: %s", message.device, exc)
        return Result("rejected", detail=str(exc)[:200])
    except aiohttp.ClientError as exc:
        return Result("retry", detail=type(exc).__name__)
    except Exception as exc:  # a bug or a malformed answer must not stop the other sends
        log.exception("push to device %s failed unexpectedly", message.device)
        return Result("error", detail=type(exc).__name__)
    if status <= 202:
        return Result("delivered", status=status)
    return _classify(status, retry_after, now)


def _classify(status: int, retry_after: str | None, now: datetime) -> Result:
    if 300 <= status < 400:
        log.warning("push service answered a redirect (HTTP %s); not followed", status)
        return Result("rejected", status=status, detail="redirect not followed")
    if status in (404, 410):
        return Result("gone", status=status)
    if status in (401, 403):
        # Our VAPID signature or key is wrong: the device is fine, keep it and alert loudly.
        log.error(
            "push service refused our VAPID credentials (HTTP %s): check the key pair", status
        )
        return Result("vapid_rejected", status=status)
    if status == 429 or status >= 500:
        return Result("retry", status=status, retry_after=_retry_after(retry_after, now))
    return Result("rejected", status=status)


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After is delay-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - now).total_seconds()) if moment.tzinfo else None


def backoff(attempts: int, retry_after: float | None, jitter: float) -> timedelta:
    """Exponential backoff from 30 s, capped at 15 min, never sooner than Retry-After."""
    delay = min(30.0 * 2 ** max(attempts - 1, 0), 900.0) * (1.0 + jitter)
    return timedelta(seconds=max(delay, retry_after or 0.0))
