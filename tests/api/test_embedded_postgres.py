"""`make run` without DATABASE_URL: the embedded PostgreSQL stops with the last app using it.

Each test runs `python -m server serve` as `make run` does (no DATABASE_URL, a data folder of its
own) and stops it with SIGTERM, as a service manager or `kill` would.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.live_server import ROOT, free_port

pytestmark = pytest.mark.slow


def _environment(data_dir: Path, port: int) -> dict[str, str]:
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name != "DATABASE_URL" and not name.startswith("AFTERGLOW_")
    }
    return {
        **inherited,
        "AFTERGLOW_DATA_DIR": str(data_dir),
        "AFTERGLOW_PORT": str(port),
        "AFTERGLOW_WORKER": "0",
    }


class Serve:
    """`python -m server serve` with no DATABASE_URL, on a free port."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.log = data_dir / f"serve-{self.port}.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server", "serve"],
                cwd=ROOT,
                env=_environment(data_dir, self.port),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def ready(self, timeout: float = 60) -> Serve:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                url = f"http://127.0.0.1:{self.port}/readyz"
                if httpx.get(url, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"not ready: {self.log.read_text()[-3000:]}")

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])


def alive(pid: int) -> bool:
    """Running, and not merely a zombie waiting for its parent."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Outside pytest's temporary tree, which is private to root: PostgreSQL runs unprivileged.
    folder = Path(tempfile.mkdtemp(prefix="afterglow-embedded-"))
    yield folder
    if (folder / "pgdata" / "postmaster.pid").exists():  # a failed test: stop what it left
        pid = postmaster_pid(folder)
        if alive(pid):
            os.kill(pid, signal.SIGINT)
            gone_within(pid, 10)
    shutil.rmtree(folder, ignore_errors=True)


def test_sigterm_stops_the_embedded_postgres(data_dir: Path) -> None:
    app = Serve(data_dir).ready()
    try:
        postmaster = postmaster_pid(data_dir)
        assert alive(postmaster)
        assert app.terminate() in (0, -signal.SIGTERM)
        assert gone_within(postmaster, 15), "the embedded PostgreSQL outlived `serve`"
    finally:
        app.kill()


def test_stopping_one_of_two_apps_leaves_the_database_to_the_other(data_dir: Path) -> None:
    first = Serve(data_dir).ready()
    second = Serve(data_dir)
    try:
        second.ready()
        postmaster = postmaster_pid(data_dir)
        first.terminate()
        time.sleep(1)
        assert alive(postmaster), "stopping one app stopped the other's database"
        assert postmaster_pid(data_dir) == postmaster
        answer = httpx.get(f"http://127.0.0.1:{second.port}/readyz", timeout=5)
        assert answer.status_code == 200, answer.text
        second.terminate()
        assert gone_within(postmaster, 15), "the last app left the embedded PostgreSQL running"
    finally:
        first.kill()
        second.kill()


def test_without_database_url_or_pgserver_the_app_says_what_to_do(tmp_path: Path) -> None:
    # pgserver not installed (as in production, where it is not): imports of it fail.
    no_pgserver = "import sys; sys.modules['pgserver'] = None; import runpy; "
    for command in ("serve", "migrate"):
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                no_pgserver + f"sys.argv = ['server', '{command}']; "
                "runpy.run_module('server', run_name='__main__')",
            ],
            cwd=ROOT,
            env=_environment(tmp_path, free_port()),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert "DATABASE_URL" in done.stderr
        assert "pip install -e '.[embedded]'" in done.stderr
