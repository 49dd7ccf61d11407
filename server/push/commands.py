"""Operator commands: ``vapid-keys``, ``worker`` and ``reminders due`` (see server/__main__.py)."""

from __future__ import annotations

from datetime import datetime

from server.config import Settings
from server.db import Connection
from server.push import vapid as vapid_keys
from server.store import push as push_store
from server.store import reminders as reminder_store

_ORPHANS = "a new pair would orphan every push subscription"


def vapid_keys_command(settings: Settings, *, print_only: bool) -> int:
    """Make the VAPID key pair once. Never replaces one that exists."""
    if print_only or settings.env == "production":
        key = vapid_keys.new_private_key()
        print("# A new VAPID key pair. Set it once and keep it: " + _ORPHANS + ".")
        print(f"AFTERGLOW_VAPID_PRIVATE_KEY={vapid_keys.private_raw(key)}")
        print(f"# public key (applicationServerKey): {vapid_keys.public_key_of(key)}")
        return 0
    if settings.vapid_private_key:
        keys = vapid_keys.load_vapid_keys(settings)
        print(f"The key comes from AFTERGLOW_VAPID_PRIVATE_KEY; nothing written ({_ORPHANS}).")
        print(f"public key: {keys.public_key}")
        return 0
    path = vapid_keys.key_path(settings)
    created = vapid_keys.create_key_file(path)
    keys = vapid_keys.load_vapid_keys(settings)
    if created:
        print(f"created {path}")
    else:
        print(f"kept the existing {path} ({_ORPHANS})")
    print(f"public key: {keys.public_key}")
    return 0


def parse_moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("give a UTC offset, e.g. 2025-03-09T08:00:00-04:00 or ...Z")
    return moment


async def due_command(conn: Connection, at: datetime) -> int:
    """List what would be sent at ``at``: user id, kind and due time, nothing else."""
    due = await push_store.due_reminders(conn, at)
    for item in due:
        print(f"{item.due_at.isoformat()}  {item.kind:<24}  {item.user_id}")
    print(
        f"{len(due)} to send at {at.isoformat()} (reminders are planned up to "
        f"{int(reminder_store.HORIZON.total_seconds() // 3600)} h ahead)"
    )
    return 0
