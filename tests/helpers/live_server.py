"""The real app in a subprocess (`python -m server serve`), for tests that need a real server:
browsers, fuzzing, several processes against one database, faults.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.helpers.push_service import push_services

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """``python -m server serve`` on a free loopback port, ready when /readyz says so."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        *,
        worker: bool = False,
        env: Mapping[str, str] | None = None,
        secret_key: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        # ``host`` is the name clients use (the server listens on 127.0.0.1): "localhost" for
        # passkeys, which refuse an IP address as the relying party.
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        self.log_path = data_dir / f"server-{self.port}.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "AFTERGLOW_ENV": "test",
            "AFTERGLOW_DATA_DIR": str(data_dir),
            "AFTERGLOW_SECRET_KEY": secret_key or secrets.token_urlsafe(32),
            "AFTERGLOW_WORKER": "1" if worker else "0",
            "AFTERGLOW_PUBLIC_URL": self.url,
            "AFTERGLOW_CLINIC_PHONE": "+1 555 0100",
            "AFTERGLOW_PUSH_SERVICES": push_services(),  # the local push service's port
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> LiveServer:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def signed_in_patient(
    base_url: str, email: str, password: str, timezone: str = "America/New_York"
) -> httpx.AsyncClient:
    """An httpx client registered as a new patient against a live server, sending the CSRF
    header on every request like the web app."""
    client = httpx.AsyncClient(base_url=base_url, timeout=10)
    await client.get("/healthz")
    client.headers["X-CSRF-Token"] = client.cookies["csrftoken"]
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": password, "display_name": "Load", "timezone": timezone},
    )
    response.raise_for_status()
    return client


async def create_clinician(
    database_url: str, email: str, password: str, name: str = "Dr. Test"
) -> None:
    """A clinician account, made as `create-clinician` does (there is no sign-up for them)."""
    import asyncpg

    from server.services import passwords
    from server.store import users as user_store

    conn = await asyncpg.connect(database_url)
    try:
        await user_store.create_user(
            conn,
            email=email,
            role="clinician",
            password_hash=await passwords.hash_password(password),
            display_name=name,
            timezone="UTC",
        )
    finally:
        await conn.close()
