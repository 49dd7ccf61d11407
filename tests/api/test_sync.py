"""POST /sync: conflict rule, tombstones, cursors, replays, and convergence in any order."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import db
from server.domain.checkins import CheckInContent, check_checkin
from server.domain.sync import ChangeKey, content_version, converge, delete_key
from server.services import sync as sync_service
from tests.helpers.accounts import register
from tests.helpers.log_entries import checkin, hours_ago, infusion, iso, new_id, phq9, snapshot

URL = "/api/v1/sync"
BASE = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def change(
    kind: str, entry: str, data: dict[str, Any] | None, at: datetime, op: str = "upsert"
) -> dict[str, Any]:
    return {"kind": kind, "id": entry, "op": op, "updated_at": iso(at), "data": data}


async def sync(client: Any, changes: list[dict[str, Any]], since: str | None = None) -> Any:
    response = await client.post(URL, json={"changes": changes, "since": since})
    assert response.status_code == 200, response.text
    return response.json()


class Device:
    """What a phone keeps: its copy of every entry, and its cursor."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.entries: dict[str, dict[str, Any] | None] = {}
        self.cursor: str | None = None
        self.outbox: list[dict[str, Any]] = []

    def edit(self, item: dict[str, Any]) -> None:
        self.entries[item["id"]] = item["data"]
        self.outbox.append(item)

    async def sync(self) -> dict[str, Any]:
        body = await sync(self.client, self.outbox, self.cursor)
        self.outbox = []
        for server_change in body["changes"]:
            self.entries[server_change["id"]] = server_change["data"]
        self.cursor = body["cursor"]
        return body


async def test_batch_applies_and_replays_change_nothing(patient: Any, pool: db.Pool) -> None:
    batch = [
        change("checkin", new_id(), checkin(mood=4), hours_ago(1)),
        change("assessment", new_id(), phq9(), hours_ago(1)),
        change("infusion", new_id(), infusion(), hours_ago(1)),
        change("checkin", new_id(), None, hours_ago(1), op="delete"),
    ]
    first = await sync(patient, batch)
    assert [r["status"] for r in first["results"]] == ["applied"] * 4
    assert [r["id"] for r in first["results"]] == [c["id"] for c in batch]
    assert [(c["kind"], c["op"]) for c in first["changes"]] == [
        ("checkin", "upsert"),
        ("assessment", "upsert"),
        ("infusion", "upsert"),
        ("checkin", "delete"),
    ]
    assert first["changes"][1]["data"]["total"] == 5
    assert first["changes"][3]["data"] is None
    assert first["more"] is False

    before = await snapshot(pool)
    for _ in range(3):
        again = await sync(patient, batch, first["cursor"])
        assert [r["status"] for r in again["results"]] == ["unchanged"] * 4
        assert again["changes"] == [] and again["cursor"] == first["cursor"]
        assert await snapshot(pool) == before


async def test_two_devices_offline_later_edit_wins_on_both(client_factory: Any) -> None:
    phone, tablet = client_factory(), client_factory()
    me = await register(phone)
    await phone.post("/api/v1/auth/logout")  # sign the tablet in to the same account
    login = {"email": me["email"], "password": "correct horse battery"}
    assert (await tablet.post("/api/v1/auth/login", json=login)).status_code == 200
    assert (await phone.post("/api/v1/auth/login", json=login)).status_code == 200
    a, b = Device(phone), Device(tablet)

    entry = new_id()
    a.edit(change("checkin", entry, checkin(mood=5), BASE))
    await a.sync()
    await b.sync()
    assert b.entries[entry]["mood"] == 5

    # Both go offline and edit; the tablet's edit is later, but the phone syncs last.
    b.edit(change("checkin", entry, checkin(mood=8), BASE + timedelta(minutes=20)))
    a.edit(change("checkin", entry, checkin(mood=2), BASE + timedelta(minutes=10)))
    assert (await b.sync())["results"][0]["status"] == "applied"
    assert (await a.sync())["results"][0]["status"] == "superseded"
    await b.sync()
    assert a.entries[entry]["mood"] == b.entries[entry]["mood"] == 8

    # The phone's clock runs behind: its next edit is older than the one it already has. It
    # is told what won, even though its cursor had passed it.
    a.edit(change("checkin", entry, checkin(mood=1), BASE + timedelta(minutes=15)))
    body = await a.sync()
    assert body["results"][0]["status"] == "superseded"
    assert a.entries[entry]["mood"] == 8

    # The other order: the earlier edit syncs first, the later one still wins on both.
    a.edit(change("checkin", entry, checkin(mood=3), BASE + timedelta(minutes=21)))
    b.edit(change("checkin", entry, checkin(mood=9), BASE + timedelta(minutes=22)))
    assert (await a.sync())["results"][0]["status"] == "applied"
    assert (await b.sync())["results"][0]["status"] == "applied"
    await a.sync()
    assert a.entries[entry]["mood"] == b.entries[entry]["mood"] == 9

    # A delete is a change like any other: later than the edit, it wins everywhere.
    a.edit(change("checkin", entry, None, BASE + timedelta(minutes=30), op="delete"))
    await a.sync()
    body = await b.sync()
    assert body["changes"] == [
        {
            "kind": "checkin",
            "id": entry,
            "op": "delete",
            "updated_at": iso(BASE + timedelta(minutes=30)).replace("+00:00", "Z"),
            "data": None,
        }
    ]
    assert a.entries[entry] is None and b.entries[entry] is None
    assert (await phone.get(f"/api/v1/checkins/{entry}")).status_code == 404


async def test_a_delete_arriving_first_keeps_the_older_edit_out(patient: Any) -> None:
    entry = new_id()
    deleted = await sync(patient, [change("checkin", entry, None, BASE, op="delete")])
    assert deleted["results"][0]["status"] == "applied"
    late = await sync(
        patient, [change("checkin", entry, checkin(mood=3), BASE - timedelta(minutes=1))]
    )
    assert late["results"][0]["status"] == "superseded"
    assert (await patient.get(f"/api/v1/checkins/{entry}")).status_code == 404


async def test_ties_are_broken_the_same_way_in_any_order(client_factory: Any) -> None:
    """Same updated_at: the greater content hash wins, and a delete beats any edit."""
    winners = []
    for order in ((0, 1), (1, 0)):
        client = client_factory()
        await register(client)
        entry = new_id()
        edits = [
            change("checkin", entry, checkin(mood=m, recorded_at=iso(BASE)), BASE) for m in (3, 7)
        ]
        for index in order:
            await sync(client, [edits[index]])
        winners.append((await client.get(f"/api/v1/checkins/{entry}")).json()["mood"])
        tombstone = change("checkin", entry, None, BASE, op="delete")
        assert (await sync(client, [tombstone]))["results"][0]["status"] == "applied"
        for edit in edits:
            assert (await sync(client, [edit]))["results"][0]["status"] == "superseded"
    assert winners[0] == winners[1]


async def test_one_bad_change_is_rejected_alone(patient: Any, pool: db.Pool) -> None:
    good = change("checkin", new_id(), checkin(mood=6), hours_ago(1))
    bad = change("checkin", new_id(), checkin(mood=11), hours_ago(1))
    unknown = change("checkin", new_id(), checkin(mood=6, colour="blue"), hours_ago(1))
    duplicate = change(
        "checkin",
        new_id(),
        checkin(side_effects=[{"code": "nausea", "severity": 1}] * 2),
        hours_ago(1),
    )
    body = await sync(patient, [good, bad, unknown, duplicate, {"kind": "mood"}])
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["applied", "rejected", "rejected", "rejected", "rejected"]
    fields = [r.get("problem", {}).get("field") for r in body["results"]]
    assert fields[1:4] == [
        "changes[1].data.mood",
        "changes[2].data.colour",
        "changes[3].data.side_effects[1].code",
    ]
    assert fields[4].startswith("changes[4]")
    assert body["results"][4]["id"] is None
    assert all(r["problem"]["status"] == 400 for r in body["results"][1:])
    assert [c["id"] for c in body["changes"]] == [good["id"]]


async def test_item9_in_a_synced_phq9_answers_with_safety(patient: Any) -> None:
    body = await sync(
        patient,
        [
            change("assessment", new_id(), phq9([0] * 8 + [2]), hours_ago(1)),
            change("assessment", new_id(), phq9([1] * 8 + [0]), hours_ago(1)),
        ],
    )
    assert "not monitored around the clock" in body["results"][0]["safety"]["message"]
    assert "safety" not in body["results"][1]


async def test_cursor_pages_and_foreign_cursors(
    patient: Any, client_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_service, "FEED_LIMIT", 2)
    ids = [new_id() for _ in range(5)]
    await sync(patient, [change("checkin", i, checkin(mood=1), hours_ago(1)) for i in ids])
    seen, cursor, more = [], None, True
    while more:
        body = await sync(patient, [], cursor)
        seen += [c["id"] for c in body["changes"]]
        cursor, more = body["cursor"], body["more"]
    assert seen == ids

    # Another account's cursor (a shared tablet) starts over instead of skipping changes.
    other = client_factory()
    await register(other)
    mine = change("checkin", new_id(), checkin(), hours_ago(1))
    first = await sync(other, [mine], cursor)
    assert [c["id"] for c in first["changes"]] == [mine["id"]]

    bad = await other.post(URL, json={"changes": [], "since": "not-a-cursor!"})
    assert bad.status_code == 400 and bad.json()["field"] == "since"


async def test_concurrent_writers_to_one_entry_end_with_the_greatest(patient: Any) -> None:
    entry = new_id()
    minutes = [7, 3, 19, 11, 2, 16, 5, 13, 17, 1, 9, 4]

    async def write(minute: int) -> None:
        body = checkin(mood=minute % 11, updated_at=iso(BASE + timedelta(minutes=minute)))
        response = await patient.put(f"/api/v1/checkins/{entry}", json=body)
        assert response.status_code in (200, 201, 409), response.text

    async def sync_one(minute: int) -> None:
        at = BASE + timedelta(minutes=minute, seconds=30)
        await sync(patient, [change("checkin", entry, checkin(mood=minute % 11), at)])

    await asyncio.gather(*(write(m) for m in minutes), *(sync_one(m) for m in minutes))
    stored = (await patient.get(f"/api/v1/checkins/{entry}")).json()
    assert stored["updated_at"] == iso(BASE + timedelta(minutes=19, seconds=30)).replace(
        "+00:00", "Z"
    )
    feed = await sync(patient, [])
    mine = [c for c in feed["changes"] if c["id"] == entry]
    assert len(mine) == 1 and mine[0]["updated_at"] == stored["updated_at"]


# --- convergence ------------------------------------------------------------------------------

MINUTES = st.integers(min_value=0, max_value=3)  # few distinct times: ties happen often
CHANGE = st.tuples(
    st.integers(min_value=0, max_value=2),  # which entry
    st.sampled_from(["upsert", "delete"]),
    MINUTES,
    st.integers(min_value=0, max_value=10),  # mood
)


def as_change(spec: tuple[int, str, int, int], ids: list[str]) -> dict[str, Any]:
    slot, op, minutes, mood = spec
    at = BASE + timedelta(minutes=minutes)
    data = None if op == "delete" else checkin(mood=mood, recorded_at=iso(BASE))
    return change("checkin", ids[slot], data, at, op)


def model_key(spec: tuple[int, str, int, int]) -> ChangeKey:
    _, op, minutes, mood = spec
    at = BASE + timedelta(minutes=minutes)
    if op == "delete":
        return delete_key(at)
    content = check_checkin(CheckInContent(recorded_at=BASE, mood=mood), BASE)
    return ChangeKey(updated_at=at, deleted=False, version=content_version(content))


async def final_state(pool: db.Pool, ids: list[str]) -> list[Any]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT id, deleted, client_updated_at, version, mood FROM checkins
                WHERE id = ANY($1::uuid[])""",
            [uuid.UUID(i) for i in ids],
        )
    by_id = {
        str(r["id"]): (r["deleted"], r["client_updated_at"], r["version"], r["mood"]) for r in rows
    }
    return [by_id.get(i) for i in ids]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=st.lists(CHANGE, min_size=1, max_size=8), data=st.data())
async def test_any_interleaving_of_replays_converges(
    patient: Any, pool: db.Pool, specs: list[tuple[int, str, int, int]], data: st.DataObject
) -> None:
    states = []
    for _ in range(2):
        ids = [new_id() for _ in range(3)]  # fresh ids: each schedule starts from nothing
        order = data.draw(st.permutations(range(len(specs))))
        replays = data.draw(st.lists(st.sampled_from(range(len(specs))), max_size=6))
        sequence = list(order)
        for position, index in zip(
            data.draw(
                st.lists(
                    st.integers(0, len(sequence)), min_size=len(replays), max_size=len(replays)
                )
            ),
            replays,
            strict=True,
        ):
            sequence.insert(position, index)
        cuts = sorted(set(data.draw(st.lists(st.integers(1, len(sequence)), max_size=3))))
        batches = [sequence[a:b] for a, b in zip([0, *cuts], [*cuts, len(sequence)], strict=True)]
        for batch in batches:
            if batch:
                body = await sync(patient, [as_change(specs[i], ids) for i in batch])
                assert all(r["status"] != "rejected" for r in body["results"])
        if data.draw(st.booleans()):  # and replay one whole batch again at the end
            body = await sync(patient, [as_change(specs[i], ids) for i in batches[0]])
            assert all(r["status"] in ("unchanged", "superseded") for r in body["results"])
        states.append(await final_state(pool, ids))

    # Both schedules end the same, and as the model says: the greatest key of each entry.
    expected = converge((uuid.UUID(int=spec[0]), model_key(spec)) for spec in specs)
    for state in states:
        for slot in range(3):
            key = expected.get(uuid.UUID(int=slot))
            if key is None:
                assert state[slot] is None
                continue
            deleted, updated_at, version, _mood = state[slot]
            assert ChangeKey(updated_at=updated_at, deleted=deleted, version=version) == key
    assert states[0] == states[1]
