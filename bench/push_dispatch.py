"""Push dispatch and the reminder planner.

Dispatch: 10,000 patients each with one device and one daily check-in reminder due now. The
app's ``Dispatcher`` (with the app's concurrency and timeout settings) runs in this process and
sends them to the local push service (tests/helpers/push_service.py) in another process, whose
decryptor (a third process, at the lowest CPU priority: bench/push_peer.py) decrypts every
message. Figures: messages per second beside the raw pywebpush encryption rate measured in this
process in the same run, before and after sending (target ≥ 0.5 of their mean); the largest
event-loop stall while sending: a ticker task sleeps 5 ms again and again and records how late
it wakes (target < 50 ms); and the floor under the dispatcher: the same encryption and POST
(server/push/webpush.py) with the same session and concurrency, and no database at all.

Planner: 10,000, then 100,000 patients with preferences, a device and three infusions each, in
the steady state a rolling planner leaves (each planned up to some time in the next 48 hours),
with the same 50 patients falling due. One ``plan_pass`` is timed (median of a few, the 50
re-set before each); it must cost the same at 100,000 as at 10,000 and under 100 ms. A last
round makes 500 fall due, to show what the cost does follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from bench import harness, report, synthetic
from bench.harness import Options, Skip
from bench.report import Figure

NAME = "push"
ROOT = harness.ROOT
DUE_PATIENTS = 50  # patients falling due in each timed planner pass
WARM = 200  # reminders sent before the timing starts (connections, first-use costs)
FLOOR = 3_000  # pushes encrypted and posted with no database, after the dispatch


def missing_pieces() -> str | None:
    needed = {
        "the local push service": ROOT / "tests/helpers/push_service.py",
        "the dispatcher": ROOT / "server/push/dispatcher.py",
        "the planner": ROOT / "server/push/worker.py",
    }
    gone = [name for name, path in needed.items() if not path.exists()]
    return ", ".join(gone) + " not written yet" if gone else None


# --- the push service in its own process ----------------------------------------------------


class Peer:
    def __init__(self, process: asyncio.subprocess.Process, base_url: str) -> None:
        self.process = process
        self.base_url = base_url

    async def stats(self) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(b"stats\n")
        await self.process.stdin.drain()
        # The decryptor may still be catching up on a busy machine.
        line = await asyncio.wait_for(self.process.stdout.readline(), 120)
        stats: dict[str, Any] = json.loads(line)
        return stats


@contextlib.asynccontextmanager
async def push_service(subscriptions: Path, count: int) -> AsyncIterator[Peer]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.push_peer",
        str(subscriptions),
        str(count),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        if not line.startswith("READY "):
            raise RuntimeError(f"the push service did not start: {line!r}")
        yield Peer(process, line.split()[1])
    finally:
        if process.returncode is None:
            if process.stdin is not None:
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


# --- measuring -------------------------------------------------------------------------------


class StallMeter:
    """The largest lateness of ``asyncio.sleep(0.005)`` while a block runs: how long the event
    loop was kept from anything else."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.worst = 0.0
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(self.interval)
            self.worst = max(self.worst, loop.time() - started - self.interval)
            self.ticks += 1

    async def __aenter__(self) -> StallMeter:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class Raw(msgspec.Struct, frozen=True):
    rate: float  # messages a second
    cpu_us: float  # CPU time of the encrypting thread a message


def raw_encryption_rate(subscription: dict[str, Any], payload: bytes, budget: float) -> Raw:
    """Messages per second pywebpush alone encrypts (aes128gcm, RFC 8291), one core."""
    from pywebpush import WebPusher

    pusher = WebPusher(subscription)
    for _ in range(20):
        pusher.encode(payload, content_encoding="aes128gcm")
    count, started, cpu = 0, time.perf_counter(), time.thread_time()
    while count < 20_000 and time.perf_counter() - started < budget:
        pusher.encode(payload, content_encoding="aes128gcm")
        count += 1
    elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
    return Raw(rate=count / elapsed, cpu_us=cpu / count * 1e6)


class Floor(msgspec.Struct, frozen=True):
    count: int
    rate: float  # pushes a second
    cpu_us: float  # CPU time of this process a push


async def encrypt_and_post(
    session: Any, vapid: Any, subscriptions: list[dict[str, Any]], payload: bytes, settings: Any
) -> Floor:
    """Encrypt and post one push to each subscription with the dispatcher's own steps
    (server/push/webpush.py) and concurrency, and nothing else: no claim, no lease, no record."""
    from server.domain.devices import Device
    from server.push import webpush

    devices = iter(
        Device(uuid.uuid4(), s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"])
        for s in subscriptions
    )
    headers = webpush.row_headers(ttl=3600, urgency="normal", topic="floor")
    now = datetime.now(UTC)

    async def sender() -> None:
        for device in devices:
            message = webpush.encrypt(vapid, device, payload, headers)
            result = await webpush.post(session, message, answer_within=10.0, now=now)
            if result.outcome != "delivered":
                raise RuntimeError(f"the push service answered {result}")

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(sender() for _ in range(settings.push_concurrency)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    n = len(subscriptions)
    return Floor(count=n, rate=n / elapsed, cpu_us=cpu / n * 1e6)


# --- data ------------------------------------------------------------------------------------


async def load_due_reminders(
    conn: asyncpg.Connection, subscriptions: list[dict[str, Any]], now: datetime
) -> None:
    """One patient per subscription, each with one daily check-in reminder due a minute ago;
    the first WARM are due earlier, so the untimed first round takes them."""
    from server.domain.reminders import PAYLOADS, URGENCY

    payload = json.dumps(
        {name: getattr(PAYLOADS["daily_checkin"], name) for name in ("title", "body", "url", "tag")}
    )
    patients = await synthetic.copy_patients(
        conn, len(subscriptions), created_at=now - timedelta(days=30), prefix="push"
    )
    await conn.copy_records_to_table(
        "push_subscriptions",
        columns=("user_id", "endpoint", "p256dh", "auth"),
        records=[
            (pid, s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"])
            for pid, s in zip(patients, subscriptions, strict=True)
        ],
    )
    day = now.astimezone(ZoneInfo(synthetic.ZONE_NAME)).date()
    rows = []
    for n, pid in enumerate(patients):
        due = now - timedelta(minutes=2 if n < WARM else 1)
        rows.append(
            (pid, "daily_checkin", f"daily:{day}", due, due + timedelta(hours=2), day, payload,
             URGENCY["daily_checkin"], due)
        )  # fmt: skip
    await conn.copy_records_to_table(
        "push_outbox",
        columns=("user_id", "kind", "occurrence", "due_at", "stale_at", "local_day", "payload",
                 "urgency", "next_attempt_at"),
        records=rows,
    )  # fmt: skip
    await conn.execute("ANALYZE")


async def add_planner_patients(
    conn: asyncpg.Connection, count: int, now: datetime, start: int
) -> list[uuid.UUID]:
    """``count`` patients with default preferences, a device, and infusions two weeks ago, in
    three days and in a month; each planned up to a time 24-48 h ahead (not due yet)."""
    patients = await synthetic.copy_patients(
        conn, count, created_at=now - timedelta(days=60), prefix=f"plan{start}"
    )
    await conn.copy_records_to_table(
        "push_subscriptions",
        columns=("user_id", "endpoint", "p256dh", "auth"),
        records=[(pid, f"http://127.0.0.1:9/push/{pid.hex}", "BAAA", "AAAA") for pid in patients],
    )
    spread = 24 * 3600 - 120
    await conn.copy_records_to_table(
        "reminder_prefs",
        columns=("patient_id", "daily_checkin_time", "weekly_phq9_day", "weekly_phq9_time",
                 "infusion_day_before", "infusion_two_hours", "infusion_evening_after",
                 "quiet_hours_start", "quiet_hours_end", "planned_until"),
        records=[
            (pid, time_of_day(19, 0), 7, time_of_day(18, 0), True, True, True,
             time_of_day(21, 0), time_of_day(8, 0),
             now + timedelta(hours=24, seconds=60 + (n * 7919) % spread))
            for n, pid in enumerate(patients)
        ],
    )  # fmt: skip
    infusions = []
    for n, pid in enumerate(patients):
        for offset in (timedelta(days=-14), timedelta(days=3), timedelta(days=31)):
            at = (now + offset).replace(hour=15, minute=0, second=0, microsecond=0)
            status = "completed" if offset.days < 0 else "planned"
            infusions.append(
                (uuid.uuid4(), pid, at, at.date(), 40, status, None, at, f"p{n}", n)
            )  # fmt: skip
    await conn.execute("SET session_replication_role = replica")
    try:
        await conn.copy_records_to_table(
            "infusions", columns=synthetic.INFUSION_COLUMNS, records=infusions
        )
    finally:
        await conn.execute("RESET session_replication_role")
    await conn.execute("ANALYZE")
    return patients


# --- the benchmark ---------------------------------------------------------------------------


async def dispatch(options: Options, database_url: str, settings: Any) -> list[Figure]:
    from server import db
    from server.push.dispatcher import Dispatcher
    from server.push.outbound import push_session
    from server.push.vapid import load_vapid_keys
    from server.push.worker import freeze_startup_objects

    count = options.pick(10_000, 500)
    folder = options.workdir
    async with push_service(folder / "subscriptions.jsonl", count + WARM) as peer:
        subscriptions = [
            json.loads(line) for line in (folder / "subscriptions.jsonl").read_text().splitlines()
        ]
        now = datetime.now(UTC)
        conn = await asyncpg.connect(database_url, timeout=10)
        try:
            await load_due_reminders(conn, subscriptions, now)
        finally:
            await conn.close()

        payload = json.dumps({"title": "Afterglow", "body": "Time for your check-in"}).encode()
        budget = options.pick(3.0, 1.0)
        raw_before = await asyncio.to_thread(raw_encryption_rate, subscriptions[0], payload, budget)

        # What the machine alone does to a 5 ms ticker (other processes, the scheduler).
        async with StallMeter() as idle:
            await asyncio.sleep(options.pick(2.0, 0.5))

        vapid = load_vapid_keys(settings)
        pool = await db.create_pool(database_url, settings)
        # As the worker does when it starts (server/push/worker.py): what is alive now (here
        # also this bench's own data) is kept out of the garbage collector's full passes.
        freeze_startup_objects()
        # The worker's own session, which connects only to listed push services: this one.
        listed = msgspec.structs.replace(
            settings, push_services=(peer.base_url.removeprefix("http://"),)
        )
        try:
            async with push_session(listed) as session:
                dispatcher = Dispatcher(
                    pool,
                    vapid,
                    session,
                    concurrency=settings.push_concurrency,
                    timeout=settings.push_timeout,
                    batch_size=WARM,
                )
                warm = await dispatcher.run_once(now - timedelta(seconds=90))
                dispatcher = Dispatcher(
                    pool,
                    vapid,
                    session,
                    concurrency=settings.push_concurrency,
                    timeout=settings.push_timeout,
                )
                async with StallMeter() as meter:
                    started, cpu = time.perf_counter(), time.process_time()
                    stats = await dispatcher.run_until_idle(datetime.now(UTC))
                    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                floor = await encrypt_and_post(
                    session, vapid, subscriptions[: options.pick(FLOOR, WARM)], payload, settings
                )
        finally:
            await pool.close()
        raw_after = await asyncio.to_thread(raw_encryption_rate, subscriptions[0], payload, budget)
        seen = await peer.stats()

    sent = count + WARM + floor.count
    if warm.sent != WARM or stats.sent != count:
        raise RuntimeError(
            f"sent {warm.sent} + {stats.sent} of {WARM} + {count} reminders: {stats}; "
            f"push service: {seen}"
        )
    if seen["delivered"] != sent:
        raise RuntimeError(f"the push service decrypted {seen['delivered']} of {sent}: {seen}")
    # The machine is shared: the baseline is taken before and after sending, and averaged.
    raw = (raw_before.rate + raw_after.rate) / 2
    raw_cpu = (raw_before.cpu_us + raw_after.cpu_us) / 2
    rate, cpu_us = stats.sent / elapsed, cpu / stats.sent * 1e6
    return [
        Figure(
            NAME,
            "pywebpush encryption alone (baseline)",
            raw,
            "msg/s",
            note=f"one core; {raw_before.rate:,.0f} before sending, {raw_after.rate:,.0f} "
            f"after; {raw_cpu:.0f} µs of CPU a message",
        ),
        Figure(
            NAME,
            f"encrypt + POST alone, {floor.count:,} pushes, no database",
            floor.rate,
            "msg/s",
            baseline=f"raw {raw:,.0f} msg/s",
            ratio=floor.rate / raw,
            note=f"{floor.cpu_us:.0f} µs of CPU a push (raw / this: {raw_cpu / floor.cpu_us:.2f}): "
            "the floor under the dispatcher (pywebpush and aiohttp in one process, the same "
            "session and concurrency)",
        ),
        Figure(
            NAME,
            f"dispatch {count:,} due reminders",
            rate,
            "msg/s",
            target="≥ 0.50 × raw",
            ok=rate / raw >= 0.5,
            baseline=f"raw {raw:,.0f} msg/s",
            ratio=rate / raw,
            note=f"{elapsed:.1f} s; {cpu_us:.0f} µs of CPU a push (raw / this: "
            f"{raw_cpu / cpu_us:.2f}, steadier than the rates on a busy machine); every "
            "message decrypted by the push service's decryptor (another process, lowest "
            f"priority); concurrency {settings.push_concurrency}",
        ),
        Figure(
            NAME,
            "largest event-loop stall while sending",
            meter.worst * 1000,
            "ms",
            target="< 50 ms",
            ok=meter.worst < 0.050,
            baseline=f"idle loop {idle.worst * 1000:.1f} ms",
            ratio=meter.worst / idle.worst if idle.worst else None,
            note=f"a 5 ms ticker, {meter.ticks} ticks while sending; the idle figure is the "
            "same ticker before sending",
        ),
    ]


async def timed_passes(
    pool: Any, conn: asyncpg.Connection, due: list[uuid.UUID], now: datetime, repeats: int
) -> list[float]:
    """Make ``due`` patients fall due and time one planner pass, ``repeats`` times (after an
    untimed one: fresh statements, first inserts). Each pass must take exactly them."""
    from server.push.worker import plan_pass

    timings = []
    for round_ in range(repeats + 1):
        await conn.execute(
            "UPDATE reminder_prefs SET planned_until = '-infinity' "
            "WHERE patient_id = ANY($1::uuid[])",
            due,
        )
        started = time.perf_counter()
        planned = await plan_pass(pool, now)
        if round_:
            timings.append((time.perf_counter() - started) * 1000)
        if planned != len(due):
            raise RuntimeError(f"a planner pass took {planned} patients, not {len(due)}")
    return timings


async def planner(options: Options, database_url: str, settings: Any) -> list[Figure]:
    from server import db

    small, large = options.pick((10_000, 100_000), (1_000, 4_000))
    repeats = options.pick(5, 3)
    now = datetime.now(UTC)
    medians: dict[tuple[int, int], float] = {}
    notes: dict[tuple[int, int], str] = {}
    pool = await db.create_pool(database_url, settings)
    conn = await asyncpg.connect(database_url, timeout=10)
    try:
        patients: list[uuid.UUID] = []
        for size, due in ((small, DUE_PATIENTS), (large, DUE_PATIENTS), (large, 10 * DUE_PATIENTS)):
            if len(patients) < size:
                patients += await add_planner_patients(conn, size - len(patients), now, size)
            timings = await timed_passes(pool, conn, patients[:due], now, repeats)
            reminders = await conn.fetchval(
                "SELECT count(*) FROM push_outbox WHERE user_id = ANY($1::uuid[])",
                patients[:due],
            )
            medians[size, due] = statistics.median(timings)
            notes[size, due] = (
                f"{reminders} reminders planned for the {due} falling due; "
                f"max {max(timings):.1f} ms of {len(timings)} passes"
            )
    finally:
        await conn.close()
        await pool.close()
    few, many = DUE_PATIENTS, 10 * DUE_PATIENTS
    base = medians[small, few]
    return [
        Figure(
            NAME,
            f"planner pass, {small:,} patients, {few} due (median)",
            base,
            "ms",
            note=notes[small, few],
        ),
        Figure(
            NAME,
            f"planner pass, {large:,} patients, {few} due (median)",
            medians[large, few],
            "ms",
            target="< 100 ms at 100,000",
            ok=medians[large, few] < 100,
            baseline=f"{small:,} patients {base:.1f} ms",
            ratio=medians[large, few] / base,
            note=notes[large, few] + "; a ratio near 1: the size of the table costs nothing",
        ),
        Figure(
            NAME,
            f"planner pass, {large:,} patients, {many} due (median)",
            medians[large, many],
            "ms",
            baseline=f"{few} due {medians[large, few]:.1f} ms",
            ratio=medians[large, many] / medians[large, few],
            note=notes[large, many] + f"; {many // few}× as many falling due",
        ),
    ]


async def run(options: Options) -> list[Figure]:
    missing = missing_pieces()
    if missing:
        raise Skip(missing)
    from server.config import Settings
    from server.push.vapid import new_private_key, private_pem

    figures: list[Figure] = []
    async with harness.database() as database_url:
        settings = Settings(
            env="test",
            database_url=database_url,
            data_dir=options.workdir,
            secret_key="bench",
            vapid_private_key=private_pem(new_private_key()),
            worker=False,
        )
        figures += await report.part(NAME, "dispatch", dispatch(options, database_url, settings))
        # The dispatch part's patients have no reminder preferences: no planner pass takes them.
        figures += await report.part(NAME, "planner", planner(options, database_url, settings))
    return figures
