"""The rules that make offline sync converge: which change wins, versions, cursors.

Every entry (check-in, assessment, infusion) carries the key of the change that last won:
``(updated_at, deleted, version)``, where ``updated_at`` is the client's change time and
``version`` a hash of the content. Keys are totally ordered, and a stored key only ever grows,
so applying any set of changes in any order, any number of times, ends in the same state: the
change with the greatest key. A delete is a change like any other; at the same instant it beats
an edit (false < true). The store mirrors ``outcome`` in SQL so the decision is made under the
row's lock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from server.errors import InvalidField

Op = Literal["upsert", "delete"]
Outcome = Literal["applied", "unchanged", "superseded"]

MAX_BATCH = 500
TOMBSTONE_VERSION = ""  # all deletes of an entry at one instant are the same change


class ChangeKey(msgspec.Struct, frozen=True, order=True):
    """Compared field by field, exactly like the SQL row comparison in store/sync.py."""

    updated_at: datetime
    deleted: bool
    version: str


class ServerChange(msgspec.Struct, frozen=True, kw_only=True):
    """An entry as another device learns of it: its content now, or that it was deleted."""

    kind: str  # a name in server/domain/logbook.KINDS
    id: UUID
    op: Op
    updated_at: datetime
    data: Any = None  # the CheckIn, Assessment or Infusion; None for a delete


def content_version(content: msgspec.Struct) -> str:
    """A hash of canonical content: equal versions mean equal stored content.

    Callers pass content already normalised (UTC times, sorted side effects), so two encodings
    of one entry (an offset of -05:00 or Z, 7 or 7.0 hours of sleep) get one version.
    """
    return hashlib.sha256(msgspec.json.encode(content)).hexdigest()[:32]


def upsert_key(content: msgspec.Struct, updated_at: datetime) -> ChangeKey:
    return ChangeKey(updated_at=updated_at, deleted=False, version=content_version(content))


def delete_key(updated_at: datetime) -> ChangeKey:
    return ChangeKey(updated_at=updated_at, deleted=True, version=TOMBSTONE_VERSION)


def outcome(stored: ChangeKey | None, incoming: ChangeKey) -> Outcome:
    if stored is None or stored < incoming:
        return "applied"
    return "unchanged" if stored == incoming else "superseded"


def converge(changes: Iterable[tuple[UUID, ChangeKey]]) -> dict[UUID, ChangeKey]:
    """What the store ends up holding for each id, whatever the order of arrival."""
    state: dict[UUID, ChangeKey] = {}
    for entry_id, key in changes:
        if outcome(state.get(entry_id), key) == "applied":
            state[entry_id] = key
    return state


# --- cursors ---------------------------------------------------------------------------------
# A cursor is the last change_seq a device has seen, tagged with whose it is. A device that signs
# in as someone else, or a cursor from before a database restore, starts over instead of
# silently skipping changes.


def _tag(patient_id: UUID) -> str:
    return hashlib.sha256(patient_id.bytes).hexdigest()[:8]


def encode_cursor(seq: int, patient_id: UUID) -> str:
    raw = f"{seq}.{_tag(patient_id)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, patient_id: UUID, field: str = "since") -> int:
    """The change_seq after which to send changes: 0 (everything) for null or a foreign cursor."""
    if cursor is None:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        seq_text, tag = raw.split(".")
        seq = int(seq_text)
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidField(
            field, "Not a cursor from this server; send null to start over."
        ) from None
    if seq < 0 or len(tag) != 8:
        raise InvalidField(field, "Not a cursor from this server; send null to start over.")
    return seq if tag == _tag(patient_id) else 0
