"""Synthetic accounts, sessions, shares and patient history, written straight to the database:
history in bulk with COPY (asyncpg copy_records_to_table), sessions with the app's own functions.

The shapes follow a course of ketamine treatment: a PHQ-9 in the week before the first infusion
(the baseline), six induction infusions over three weeks, a booster every four weeks, a daily
check-in in the evening with mood that rises after the induction and sags before each booster,
and a weekly PHQ-9 that falls from moderately severe towards mild. Random but seeded, so two
runs load the same data.
"""

from __future__ import annotations

import json
import random
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from bench import harness

ZONE_NAME = "America/New_York"
INDUCTION = (7, 10, 13, 16, 20, 24)  # days (from the first day of the history) of infusions 1-6
BOOSTER_EVERY = 28
# Not a valid argon2 hash: these accounts are never signed in to.
NO_PASSWORD = "$synthetic$no-login"

CHECKIN_COLUMNS = (
    "id", "patient_id", "recorded_at", "local_day", "mood", "anxiety", "energy", "sleep_hours",
    "note", "side_effects", "client_updated_at", "version", "change_seq",
)  # fmt: skip
ASSESSMENT_COLUMNS = (
    "id", "patient_id", "instrument", "answers", "total", "band", "taken_at", "local_day",
    "client_updated_at", "version", "change_seq",
)  # fmt: skip
INFUSION_COLUMNS = (
    "id", "patient_id", "scheduled_at", "local_day", "duration_minutes", "status", "notes",
    "client_updated_at", "version", "change_seq",
)  # fmt: skip
_UUID_CLEAR = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_UUID_SET = (0x4 << 76) | (0x2 << 62)
_SLEEP = (6.0, 6.5, 7.0, 7.5, 8.0)
_NOTE = "Slept badly, calmer by the evening."
_HEADACHE = json.dumps([{"code": "headache", "severity": 1}])
_AFTER_INFUSION = tuple(
    json.dumps(
        [{"code": "dissociation", "severity": d}]
        + ([{"code": "nausea", "severity": n}] if n else [])
    )
    for d in (1, 2)
    for n in (0, 0, 0, 1, 2, 3)
)
PHQ9_BANDS = ((4, "minimal"), (9, "mild"), (14, "moderate"), (19, "moderately_severe"))
GAD7_BANDS = ((4, "minimal"), (9, "mild"), (14, "moderate"))


def band(total: int, bands: Sequence[tuple[int, str]]) -> str:
    for top, name in bands:
        if total <= top:
            return name
    return "severe"


def spread(total: int, items: int, rng: random.Random, last_item: int = 0) -> list[int]:
    """Answers 0-3 to ``items`` questions adding up to ``total`` (capped at 3 × items)."""
    answers = [0] * items
    answers[-1] = last_item
    left = max(0, min(total - last_item, 3 * (items - 1)))
    while left:
        i = rng.randrange(items - 1)
        if answers[i] < 3:
            answers[i] += 1
            left -= 1
    return answers


async def copy_patients(
    conn: asyncpg.Connection, count: int, *, created_at: datetime, prefix: str = "synthetic"
) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    await conn.copy_records_to_table(
        "users",
        columns=("id", "email", "role", "password_hash", "display_name", "timezone", "created_at"),
        records=[
            (
                pid,
                f"{prefix}-{n}-{pid.hex[:8]}@bench.example.org",
                "patient",
                NO_PASSWORD,
                f"Patient {n:06d}",
                ZONE_NAME,
                created_at,
            )
            for n, pid in enumerate(ids)
        ],
    )
    return ids


def infusion_days(days: int) -> list[int]:
    found = [d for d in INDUCTION if d < days]
    d = INDUCTION[-1] + BOOSTER_EVERY
    while d < days:
        found.append(d)
        d += BOOSTER_EVERY
    return found


class History:
    """Rows for COPY, gathered over many patients."""

    def __init__(self, today: date, seed: int = 7) -> None:
        self.today = today
        self.zone = ZoneInfo(ZONE_NAME)
        self.rng = random.Random(seed)
        self.checkins: list[tuple[Any, ...]] = []
        self.assessments: list[tuple[Any, ...]] = []
        self.infusions: list[tuple[Any, ...]] = []
        self.counters: list[tuple[uuid.UUID, int]] = []
        self._midnights: dict[date, datetime] = {}

    def at(self, day: date, hour: int, minute: int) -> datetime:
        midnight = self._midnights.get(day)
        if midnight is None:
            midnight = self._midnights[day] = datetime.combine(day, time(0), self.zone)
        # Wall-clock arithmetic on an aware datetime: right across DST changes (at 02:00).
        return midnight + timedelta(hours=hour, minutes=minute)

    def new_id(self) -> str:
        """A random version-4 UUID, as text (asyncpg takes it; uuid.uuid4() is slower)."""
        bits = self.rng.getrandbits(128) & _UUID_CLEAR | _UUID_SET
        return f"{bits:032x}"

    def add(self, patient_id: uuid.UUID, days: int) -> None:
        """``days`` of history for one patient, ending today."""
        rng = self.rng
        chance = rng.random
        first = self.today - timedelta(days=days - 1)
        seq = 0
        given = infusion_days(days)
        for d in given:
            day = first + timedelta(days=d)
            moment = self.at(day, 10, 0)
            seq += 1
            status = "completed" if day < self.today else "planned"
            self.infusions.append(
                (self.new_id(), patient_id, moment, day, 40, status, None, moment, f"s{seq}", seq)
            )
        last_infusion = -1
        upcoming = iter([*given, days + BOOSTER_EVERY])
        next_infusion = next(upcoming)
        baseline = rng.randint(15, 22)
        for d in range(days):
            day = first + timedelta(days=d)
            if d == next_infusion:
                last_infusion, next_infusion = d, next(upcoming)
            treated = d >= INDUCTION[0]
            improvement = min(1.0, max(0.0, (d - INDUCTION[0]) / 40)) if treated else 0.0
            since = d - last_infusion if last_infusion >= 0 else 99
            sag = 1 if treated and 0 <= next_infusion - d <= 5 else 0
            if d % 7 == 0:
                total = round(baseline - improvement * rng.randint(8, 14)) + rng.randint(-2, 2)
                total = max(0, min(27, total))
                item9 = 1 if chance() < 0.02 else 0
                moment = self.at(day, 9, int(chance() * 60))
                seq += 1
                answers = spread(total, 9, rng, item9)
                self.assessments.append(
                    (self.new_id(), patient_id, "phq9", answers, sum(answers),
                     band(sum(answers), PHQ9_BANDS), moment, day, moment, f"s{seq}", seq)
                )  # fmt: skip
                if d % 14 == 0:
                    seq += 1
                    gad = spread(max(0, total - 3), 7, rng)
                    self.assessments.append(
                        (self.new_id(), patient_id, "gad7", gad, sum(gad),
                         band(sum(gad), GAD7_BANDS), moment, day, moment, f"s{seq}", seq)
                    )  # fmt: skip
            if chance() < 0.08:  # a missed day
                continue
            noise = chance()
            mood = round(3 + 4 * improvement - sag + (-1 if noise < 0.25 else noise > 0.75))
            mood = max(0, min(10, mood))
            if since <= 1:
                effects = _AFTER_INFUSION[int(chance() * len(_AFTER_INFUSION))]
            else:
                effects = _HEADACHE if chance() < 0.1 else "[]"
            moment = self.at(day, 20, int(chance() * 60))
            seq += 1
            self.checkins.append(
                (
                    self.new_id(),
                    patient_id,
                    moment,
                    day,
                    mood,
                    max(0, min(10, 6 - mood // 2 + int(chance() * 3) - 1)),
                    max(0, min(10, mood + int(chance() * 4) - 2)),
                    _SLEEP[int(chance() * len(_SLEEP))],
                    _NOTE if chance() < 0.15 else None,
                    effects,
                    moment,
                    f"s{seq}",
                    seq,
                )
            )
        self.counters.append((patient_id, seq))

    async def copy(self, conn: asyncpg.Connection) -> dict[str, int]:
        # Every row points at a patient made just before: skip the foreign-key triggers (a
        # lookup per row, two thirds of the load time) for this session's COPY. Needs superuser,
        # which the benchmark database's owner is.
        await conn.execute("SET session_replication_role = replica")
        try:
            await conn.copy_records_to_table(
                "checkins", records=self.checkins, columns=CHECKIN_COLUMNS
            )
            await conn.copy_records_to_table(
                "assessments", records=self.assessments, columns=ASSESSMENT_COLUMNS
            )
            await conn.copy_records_to_table(
                "infusions", records=self.infusions, columns=INFUSION_COLUMNS
            )
        finally:
            await conn.execute("RESET session_replication_role")
        await conn.executemany(
            """INSERT INTO sync_counters (patient_id, seq) VALUES ($1, $2)
               ON CONFLICT (patient_id) DO UPDATE SET seq = EXCLUDED.seq""",
            self.counters,
        )
        counts = {
            "checkins": len(self.checkins),
            "assessments": len(self.assessments),
            "infusions": len(self.infusions),
        }
        self.checkins, self.assessments, self.infusions, self.counters = [], [], [], []
        return counts


async def share_with(
    conn: asyncpg.Connection, clinician_id: uuid.UUID, patient_ids: Sequence[uuid.UUID]
) -> None:
    """Active shares, as if each patient gave a code and the clinician accepted it."""
    now = datetime.now(UTC)
    await conn.copy_records_to_table(
        "shares",
        columns=("patient_id", "code_hash", "created_at", "expires_at", "clinician_id",
                 "accepted_at"),
        records=[
            (pid, secrets.token_bytes(32), now, now + timedelta(days=1), clinician_id, now)
            for pid in patient_ids
        ],
    )  # fmt: skip


async def open_sessions(
    database_url: str, user_ids: Sequence[uuid.UUID], role: str = "patient"
) -> list[str]:
    """A session per user written with the app's own session functions, as a sign-in would
    (many accounts without paying argon2 for each). The cookie tokens, in order."""
    from server.config import Settings
    from server.services import sessions
    from server.store import sessions as session_store

    idle, absolute = sessions.session_lifetimes(Settings(), role)
    tokens = [secrets.token_urlsafe(32) for _ in user_ids]
    conn = await asyncpg.connect(database_url, timeout=10)
    try:
        # A session starts only for the account's current password hash (migrations/0017).
        hashes = dict(
            await conn.fetch(
                "SELECT id, password_hash FROM users WHERE id = ANY($1::uuid[])", list(user_ids)
            )
        )
        async with conn.transaction():
            for user_id, token in zip(user_ids, tokens, strict=True):
                await session_store.create_session(
                    conn,
                    token_hash=sessions.token_hash(token),
                    user_id=user_id,
                    password_hash=hashes[user_id],
                    idle_timeout=idle,
                    expires_at=datetime.now(UTC) + absolute,
                )
    finally:
        await conn.close()
    return tokens


async def create_clinician(database_url: str, name: str = "Dr. Bench") -> str:
    """A clinician account written straight to the database (as the CLI would); its email."""
    from server.services import passwords

    email = harness.unique_email("clinician")
    password_hash = await passwords.hash_password(harness.PASSWORD)
    conn = await asyncpg.connect(database_url, timeout=10)
    try:
        await conn.execute(
            """INSERT INTO users (email, role, password_hash, display_name, timezone)
               VALUES ($1, 'clinician', $2, $3, 'America/New_York')""",
            email,
            password_hash,
            name,
        )
    finally:
        await conn.close()
    return email
