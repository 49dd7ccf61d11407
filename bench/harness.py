"""What every benchmark shares: a fresh database, the real app in a subprocess, signing in, and
timing requests. The figures table and the saved results are in bench/report.py.

Everything here talks to 127.0.0.1 only, and every wait is bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "correct horse battery"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "X-CSRF-Token"
SESSION_COOKIE = "afterglow_session"


class Skip(Exception):
    """A benchmark cannot run yet (the code it measures is not there): reported, not an error."""


@dataclass
class Options:
    quick: bool = False
    keep_logs: bool = False
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="afterglow-bench-")))

    def pick(self, full: Any, quick: Any) -> Any:
        """The full-mode value, or the smaller one for a --quick smoke run."""
        return quick if self.quick else full


# --- database --------------------------------------------------------------------------------


_server_url: str | None = None


async def server_url() -> str:
    """The PostgreSQL on 127.0.0.1:5432 if it answers, else an embedded one (pgserver)."""
    global _server_url
    if _server_url is None:
        explicit = os.environ.get("AFTERGLOW_BENCH_DATABASE_URL")
        if explicit:
            _server_url = explicit
        else:
            try:
                conn = await asyncpg.connect(LOCAL_SERVER, timeout=3)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                from server.db import start_embedded

                folder = Path(tempfile.mkdtemp(prefix="afterglow-bench-pg-"))
                _server_url = await asyncio.to_thread(start_embedded, folder)
            else:
                await conn.close()
                _server_url = LOCAL_SERVER
    return _server_url


def with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


@contextlib.asynccontextmanager
async def database(migrate: bool = True) -> AsyncIterator[str]:
    """A database made for this benchmark (migrated), dropped after it."""
    root = await server_url()
    name = f"afterglow_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(root, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(root, name)
    try:
        if migrate:
            from server import db

            conn = await asyncpg.connect(url, timeout=10)
            try:
                await db.migrate(conn)
            finally:
                await conn.close()
        yield url
    finally:
        admin = await asyncpg.connect(root, timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float | None:
    """Resident memory of one process, from /proc/<pid>/status (VmRSS)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


class RssSampler:
    """The largest RSS of a process seen while a block runs (sampled every 100 ms)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak: float | None = None
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            value = rss_mb(self.pid)
            if value is not None and (self.peak is None or value > self.peak):
                self.peak = value
            await asyncio.sleep(0.1)

    async def __aenter__(self) -> RssSampler:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class Server:
    """A server in a subprocess on a loopback port; its output goes to a log file."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], port: int, options: Options
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = options.workdir / f"{name}-{port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def start(self, ready_path: str, timeout: float = 60) -> None:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base_url, timeout=3) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.process.returncode} while starting:\n"
                        + self.log_tail()
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(ready_path)).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        await self.stop()
        raise RuntimeError(f"{self.name} was not ready within {timeout:.0f} s:\n{self.log_tail()}")

    async def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        for _ in range(100):
            if process.poll() is not None:
                return
            await asyncio.sleep(0.1)
        process.kill()
        await asyncio.to_thread(process.wait, 10)

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def app_env(database_url: str, options: Options, port: int, **extra: str) -> dict[str, str]:
    data_dir = options.workdir / f"data-{port}"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AFTERGLOW_") and key != "DATABASE_URL"
    }
    env.update(
        DATABASE_URL=database_url,
        AFTERGLOW_ENV="test",
        AFTERGLOW_WORKER="0",
        AFTERGLOW_DATA_DIR=str(data_dir),
        AFTERGLOW_LOG_LEVEL="WARNING",
        AFTERGLOW_SECRET_KEY=secrets.token_urlsafe(32),
        AFTERGLOW_PUBLIC_URL=f"http://127.0.0.1:{port}",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def app_server(database_url: str, options: Options, **extra: str) -> Server:
    """``python -m server serve`` on a free loopback port (not started yet)."""
    port = free_port()
    return Server(
        "app",
        [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port)],
        app_env(database_url, options, port, **extra),
        port,
        options,
    )


@contextlib.asynccontextmanager
async def real_app(database_url: str, options: Options, **extra: str) -> AsyncIterator[Server]:
    """The app, started and ready (/readyz answers 200), stopped after the block."""
    server = app_server(database_url, options, **extra)
    await server.start("/readyz")
    try:
        yield server
    finally:
        await server.stop()


async def start_all(*servers: Server) -> None:
    """Start servers side by side (each takes seconds to import); raise the first failure."""
    results = await asyncio.gather(*(s.start("/readyz") for s in servers), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _route_shape(path: str) -> str:
    return "/".join("{}" if part.startswith("{") else part for part in path.split("/"))


async def has_route(base_url: str, method: str, path: str) -> bool:
    """Whether the running app serves ``method path`` (path parameters may have any name),
    read from its OpenAPI document: a benchmark of an endpoint not written yet is skipped."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        response = await client.get("/schema/openapi.json")
    if response.status_code != 200:
        return True  # cannot tell: let the benchmark try, and fail loudly if it is not there
    wanted = _route_shape(path)
    for found, operations in response.json().get("paths", {}).items():
        if _route_shape(found) == wanted and method.lower() in operations:
            return True
    return False


# --- signing in ------------------------------------------------------------------------------


@dataclass
class Account:
    """A signed-in user of the app under test: the cookies and header a browser would send."""

    id: uuid.UUID
    email: str
    role: str
    cookies: dict[str, str]

    @property
    def csrf(self) -> str:
        return self.cookies[CSRF_COOKIE]

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def headers(self) -> dict[str, str]:
        return {"Cookie": self.cookie_header, CSRF_HEADER: self.csrf}

    def client(self, base_url: str, timeout: float = 10) -> httpx.AsyncClient:
        """A keep-alive client that sends this account's cookies and CSRF header."""
        return httpx.AsyncClient(base_url=base_url, headers=self.headers(), timeout=timeout)


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@bench.example.org"


async def _signed_in(
    base_url: str, path: str, body: dict[str, Any], expect: int
) -> tuple[dict[str, Any], dict[str, str]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=15) as client:
        await client.get("/healthz")  # sets the csrftoken cookie
        response = await client.post(
            path, json=body, headers={CSRF_HEADER: client.cookies[CSRF_COOKIE]}
        )
        if response.status_code != expect:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:300]}")
        cookies = {name: value for name, value in client.cookies.items() if value}
    return response.json(), cookies


async def register_patient(
    base_url: str, *, email: str | None = None, timezone: str = "America/New_York"
) -> Account:
    me, cookies = await _signed_in(
        base_url,
        "/api/v1/auth/register",
        {
            "email": email or unique_email("patient"),
            "password": PASSWORD,
            "display_name": "Bench Patient",
            "timezone": timezone,
        },
        201,
    )
    return Account(id=uuid.UUID(me["id"]), email=me["email"], role=me["role"], cookies=cookies)


async def sign_in(base_url: str, email: str) -> Account:
    me, cookies = await _signed_in(
        base_url, "/api/v1/auth/login", {"email": email, "password": PASSWORD}, 200
    )
    return Account(id=uuid.UUID(me["id"]), email=me["email"], role=me["role"], cookies=cookies)


async def csrf_token(base_url: str) -> str:
    """A CSRF cookie value from the app (any GET sets one; it is not tied to a session)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        await client.get("/healthz")
        return str(client.cookies[CSRF_COOKIE])


# --- timing ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank; values need not be sorted."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


async def time_requests(
    client: httpx.AsyncClient,
    path: str,
    *,
    count: int,
    warmup: int = 3,
    budget: float = 30.0,
    params: dict[str, str] | None = None,
) -> list[float]:
    """Latency in ms of ``count`` sequential GETs over one keep-alive connection (after a few
    unmeasured ones), stopping early when ``budget`` seconds are spent. Each must answer 200."""
    for _ in range(warmup):
        response = await client.get(path, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
    timings: list[float] = []
    deadline = time.monotonic() + budget
    while len(timings) < count and time.monotonic() < deadline:
        started = time.perf_counter()
        response = await client.get(path, params=params)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
        timings.append(elapsed)
    return timings


def utc_stamp() -> datetime:
    return datetime.now(UTC)
