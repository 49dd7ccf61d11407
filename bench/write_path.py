"""Write path: authenticated ``PUT /api/v1/checkins/{uuid}`` against a bare endpoint.

Both servers run side by side, each one uvicorn process, against the same fresh database. wrk
(bench/checkin.lua) sends identical requests to both: a fresh random UUID each, the session
cookie of one of 1,000 signed-in patients picked at random, and the CSRF header; 32
connections. Rounds alternate bare, app, app, bare so drift on a busy machine falls on both
alike. Targets: app throughput ≥ 0.70 of bare, p99 < 50 ms, and the app process under 200 MB
resident while it takes the load. The full run adds one round where every request is for the
same patient (no target: one person never sends 32 check-ins at once).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from bench import harness, synthetic
from bench.harness import Options, Skip
from bench.report import Figure

NAME = "write"
CONNECTIONS = 32
THREADS = 2
LUA = Path(__file__).resolve().parent / "checkin.lua"
APP_PREFIX = "/api/v1/checkins/"
BARE_PREFIX = "/checkins/"
PATIENTS = 1000


@dataclass
class Load:
    """What wrk reports for one run (times in ms)."""

    requests: int
    seconds: float
    errors: int
    bad_status: int
    p50: float
    p90: float
    p99: float
    max: float

    @property
    def good(self) -> int:
        return self.requests - self.bad_status


@dataclass
class Traffic:
    """Who the requests come from: one patient's cookie, or a file of cookies (one per line,
    one per patient) that the Lua script picks from at random for each request."""

    csrf: str
    cookie: str = ""
    sessions_file: Path | None = None


async def wrk(url: str, prefix: str, traffic: Traffic, seconds: int, recorded_at: str) -> Load:
    env = {
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "BENCH_PREFIX": prefix,
        "BENCH_COOKIE": traffic.cookie,
        "BENCH_SESSIONS": str(traffic.sessions_file or ""),
        "BENCH_CSRF": traffic.csrf,
        "BENCH_RECORDED_AT": recorded_at,
    }
    process = await asyncio.create_subprocess_exec(
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(LUA),
        url,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=seconds + 30)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError("wrk did not finish in time") from None
    text = out.decode(errors="replace")
    line = next((s for s in text.splitlines() if s.startswith("BENCH_JSON ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({process.returncode}): {text[-500:]} {err.decode()[-500:]}"
        )
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    return Load(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        errors=raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"],
        bad_status=raw["bad_status"],
        p50=raw["p50_us"] / 1000,
        p90=raw["p90_us"] / 1000,
        p99=raw["p99_us"] / 1000,
        max=raw["max_us"] / 1000,
    )


def merge(loads: list[Load]) -> Load:
    """Rounds of one target together: summed counts, mean p50, the worst p99 and max."""
    return Load(
        requests=sum(x.requests for x in loads),
        seconds=sum(x.seconds for x in loads),
        errors=sum(x.errors for x in loads),
        bad_status=sum(x.bad_status for x in loads),
        p50=sum(x.p50 for x in loads) / len(loads),
        p90=max(x.p90 for x in loads),
        p99=max(x.p99 for x in loads),
        max=max(x.max for x in loads),
    )


def throughput(load: Load) -> float:
    return load.good / load.seconds if load.seconds else 0.0


async def probe(base_url: str, prefix: str, account: harness.Account, recorded_at: str) -> None:
    """One request as wrk will send it; Skip when the endpoint is not there yet."""
    body = {
        "recorded_at": recorded_at,
        "mood": 6,
        "side_effects": [{"code": "nausea", "severity": 1}],
        "note": "probe",
    }
    async with account.client(base_url) as client:
        response = await client.put(f"{prefix}{uuid.uuid4()}", json=body)
    if response.status_code in (404, 405) and prefix == APP_PREFIX:
        raise Skip(f"PUT {prefix}{{uuid}} is not in the app yet (answered {response.status_code})")
    if not 200 <= response.status_code < 300:
        raise RuntimeError(
            f"PUT {base_url}{prefix}... answered {response.status_code}: {response.text[:300]}"
        )


async def signed_in_patients(database_url: str, base_url: str, count: int, folder: Path) -> Traffic:
    """``count`` patients, each with a session, as a file of Cookie headers for wrk."""
    conn = await asyncpg.connect(database_url, timeout=10)
    try:
        ids = await synthetic.copy_patients(conn, count, created_at=harness.utc_stamp())
    finally:
        await conn.close()
    tokens = await synthetic.open_sessions(database_url, ids)
    csrf = await harness.csrf_token(base_url)
    path = folder / "sessions.txt"
    path.write_text(
        "".join(f"{harness.SESSION_COOKIE}={t}; {harness.CSRF_COOKIE}={csrf}\n" for t in tokens)
    )
    return Traffic(csrf=csrf, sessions_file=path)


async def bare_owner(database_url: str) -> uuid.UUID:
    """The patient the bare endpoint's rows belong to (it reads no session to find one)."""
    conn = await asyncpg.connect(database_url, timeout=10)
    try:
        (owner,) = await synthetic.copy_patients(
            conn, 1, created_at=harness.utc_stamp(), prefix="bare"
        )
    finally:
        await conn.close()
    return owner


async def run(options: Options) -> list[Figure]:
    if shutil.which("wrk") is None:
        raise Skip("wrk is not installed (bash scripts/install-bench-tools.sh)")
    seconds = options.pick(10, 2)
    warmup = options.pick(3, 1)
    zone = ZoneInfo(synthetic.ZONE_NAME)
    recorded_at = (harness.utc_stamp() - timedelta(hours=1)).astimezone(zone).isoformat()
    figures: list[Figure] = []

    async with harness.database() as database_url:
        app = harness.app_server(database_url, options)
        port = harness.free_port()
        owner = await bare_owner(database_url)
        bare = harness.Server(
            "bare",
            [sys.executable, "-m", "bench.bare_app", "--port", str(port)],
            harness.app_env(database_url, options, port, BENCH_PATIENT_ID=str(owner)),
            port,
            options,
        )
        async with app, bare:
            await harness.start_all(app, bare)
            # One patient signed in through the API (the probes, the single-patient round), and
            # many with sessions written directly: real traffic is many phones, a request each.
            patient = await harness.register_patient(app.base_url)
            single = Traffic(csrf=patient.csrf, cookie=patient.cookie_header)
            patients = options.pick(PATIENTS, 100)
            many = await signed_in_patients(database_url, app.base_url, patients, options.workdir)
            await probe(bare.base_url, BARE_PREFIX, patient, recorded_at)
            skipped: str | None = None
            try:
                await probe(app.base_url, APP_PREFIX, patient, recorded_at)
            except Skip as exc:
                skipped = str(exc)

            targets = {"bare": (bare, BARE_PREFIX)}
            if skipped is None:
                targets["app"] = (app, APP_PREFIX)
            for server, prefix in targets.values():
                await wrk(server.base_url, prefix, many, warmup, recorded_at)

            order = ["bare", "app", "app", "bare"] if not options.quick else ["bare", "app"]
            loads: dict[str, list[Load]] = {name: [] for name in targets}
            peaks: dict[str, float] = {}
            for name in order:
                if name not in targets:
                    continue
                server, prefix = targets[name]
                async with harness.RssSampler(server.pid) as rss:
                    loads[name].append(
                        await wrk(server.base_url, prefix, many, seconds, recorded_at)
                    )
                peaks[name] = max(peaks.get(name, 0.0), rss.peak or 0.0)
            one_patient = None
            if skipped is None and not options.quick:
                one_patient = await wrk(app.base_url, APP_PREFIX, single, seconds, recorded_at)

        bare_load = merge(loads["bare"])
        check_clean("bare", bare_load)
        bare_rate = throughput(bare_load)
        figures.append(
            Figure(
                NAME,
                "bare PUT throughput (baseline)",
                bare_rate,
                "req/s",
                baseline=f"p50 {bare_load.p50:.1f} ms, p99 {bare_load.p99:.1f} ms",
                note=f"{CONNECTIONS} connections, {bare_load.good} requests; "
                f"bare process peak RSS {peaks['bare']:.0f} MB",
            )
        )
        if skipped is not None:
            figures.append(Figure(NAME, "app PUT /checkins", None, "", status="skip", note=skipped))
            return figures

        app_load = merge(loads["app"])
        check_clean("app", app_load)
        stored = await stored_checkins(database_url)
        app_rate = throughput(app_load)
        ratio = app_rate / bare_rate if bare_rate else None
        figures += [
            Figure(
                NAME,
                f"app PUT /checkins throughput @{CONNECTIONS}",
                app_rate,
                "req/s",
                target="≥ 0.70 × bare",
                ok=ratio is not None and ratio >= 0.70,
                baseline=f"bare {bare_rate:,.0f} req/s",
                ratio=ratio,
                note=f"{patients} patients, a random one per request; "
                f"{app_load.good} requests acknowledged; each round (req/s): bare "
                + ", ".join(f"{throughput(x):.0f}" for x in loads["bare"])
                + "; app "
                + ", ".join(f"{throughput(x):.0f}" for x in loads["app"]),
            ),
            Figure(
                NAME,
                f"app PUT p99 @{CONNECTIONS}",
                app_load.p99,
                "ms",
                target="< 50 ms",
                ok=app_load.p99 < 50,
                baseline=f"bare {bare_load.p99:.1f} ms",
                ratio=app_load.p99 / bare_load.p99 if bare_load.p99 else None,
            ),
            Figure(
                NAME,
                f"app PUT p50 @{CONNECTIONS}",
                app_load.p50,
                "ms",
                baseline=f"bare {bare_load.p50:.1f} ms",
                ratio=app_load.p50 / bare_load.p50 if bare_load.p50 else None,
            ),
            Figure(
                NAME,
                "app RSS under write load",
                peaks["app"],
                "MB",
                target="< 200 MB",
                ok=peaks["app"] < 200,
                baseline=f"bare {peaks['bare']:.0f} MB",
                ratio=peaks["app"] / peaks["bare"] if peaks["bare"] else None,
            ),
        ]
        if one_patient is not None:
            check_clean("app, one patient", one_patient)
            rate = throughput(one_patient)
            figures.append(
                Figure(
                    NAME,
                    f"app PUT, one patient @{CONNECTIONS}",
                    rate,
                    "req/s",
                    baseline=f"bare {bare_rate:,.0f} req/s",
                    ratio=rate / bare_rate if bare_rate else None,
                    note=f"every request for the same patient: p50 {one_patient.p50:.1f} ms, "
                    f"p99 {one_patient.p99:.1f} ms (one patient's writes take turns on their "
                    "sync counter)",
                )
            )
        acknowledged = app_load.good + (one_patient.good if one_patient else 0)
        if stored < acknowledged:
            raise RuntimeError(f"{acknowledged} PUTs acknowledged but only {stored} stored")
    return figures


def check_clean(name: str, load: Load) -> None:
    """A run with failures measures error handling, not the write path: refuse it."""
    if load.requests == 0:
        raise RuntimeError(f"{name}: wrk completed no request")
    if load.bad_status > load.requests * 0.01 or load.errors > load.requests * 0.01:
        raise RuntimeError(
            f"{name}: {load.bad_status} non-2xx answers and {load.errors} socket errors "
            f"in {load.requests} requests"
        )


async def stored_checkins(database_url: str) -> int:
    conn = await asyncpg.connect(database_url, timeout=10)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM checkins")
    finally:
        await conn.close()
    return count
