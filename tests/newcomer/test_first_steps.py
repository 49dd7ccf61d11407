"""The README's first steps, run as written on a fresh copy of the repository (no venv, no
data): `make run` makes the venv from the lock files, starts the embedded PostgreSQL (with
DATABASE_URL unset) and prints one line once the app answers; `make demo` beside it builds the
demo clinic, whose clinician can then sign in. Slow (a new venv: about a minute with a warm pip
cache), so `make test` runs it and `make check` leaves it out (Makefile SLOW_SUITES)."""

from __future__ import annotations

import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.live_server import ROOT, free_port

pytestmark = pytest.mark.slow

READY_WITHIN = 600  # seconds: a venv from the lock files, then initdb
DEMO_WITHIN = 300
STOP_WITHIN = 60
# What a fresh clone does not have: made by `make run`, the tests or a developer's tools.
NOT_IN_A_CLONE = (".venv", "var", "*.egg-info", ".git", "__pycache__", "*_cache", "artifacts")
PGSERVER = re.compile(r"^\S+ \S+ (DEBUG|INFO) pgserver ")  # a record of pgserver's logger
INITDB = re.compile(r"initdb|creating subdirectories|waiting for server to (start|shut down)")


def first_steps(readme: str) -> list[str]:
    """The commands of the sh block after "**First steps.**", without their comments."""
    after = readme.split("**First steps.**", 1)[1]
    block = re.search(r"```sh\n(.*?)```", after, re.DOTALL)
    assert block, "README: no sh block after **First steps.**"
    lines = (line.split("#", 1)[0].strip() for line in block.group(1).splitlines())
    return [line for line in lines if line]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("clone") / "afterglow"
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(*NOT_IN_A_CLONE), symlinks=True)
    return target


class Output:
    """A process's output, line by line, read as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                self._queue.put(line.rstrip("\n"))
            self._queue.put(None)

        threading.Thread(target=read, daemon=True).start()

    def wait_for(self, pattern: str, within: float) -> str:
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=min(left, 1))
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line like {pattern!r}:\n" + "\n".join(self.lines[-40:]))

    def rest(self, within: float) -> list[str]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
        return self.lines


@pytest.fixture
def newcomer_env() -> Iterator[dict[str, str]]:
    """The environment of someone who never set anything: no DATABASE_URL, no AFTERGLOW_*; a
    free port instead of 8000, which may be taken on this machine."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AFTERGLOW_") and k not in ("DATABASE_URL", "VIRTUAL_ENV")
    }
    env["AFTERGLOW_PORT"] = str(free_port())
    yield env


def test_the_readmes_first_steps_work_from_a_fresh_clone(
    clone: Path, newcomer_env: dict[str, str]
) -> None:
    run_cmd, demo_cmd = first_steps((clone / "README.md").read_text())
    assert (run_cmd, demo_cmd) == ("make run", "make demo")
    url = f"http://127.0.0.1:{newcomer_env['AFTERGLOW_PORT']}"
    run = subprocess.Popen(
        shlex.split(run_cmd),
        cwd=clone,
        env=newcomer_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # Ctrl-C goes to make and the app alike
    )
    output = Output(run)
    try:
        ready = output.wait_for(r"Afterglow is ready", READY_WITHIN)
        # Printed once the app answers, not before.
        assert httpx.get(f"{url}/readyz", timeout=5).status_code == 200
        assert ready == (
            f"Afterglow is ready at {url} (patients start at {url}/signup; "
            "a demo clinic to look around: make demo)"
        )
        assert httpx.get(f"{url}/signup", timeout=5).status_code == 200

        demo = subprocess.run(
            shlex.split(demo_cmd),
            cwd=clone,
            env=newcomer_env,
            capture_output=True,
            text=True,
            timeout=DEMO_WITHIN,
            check=False,
        )
        assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
        assert "demo.clinician@example.org" in demo.stdout
        with httpx.Client(base_url=url, timeout=10) as client:
            client.get("/healthz")
            signed_in = client.post(
                "/api/v1/auth/login",
                json={"email": "demo.clinician@example.org", "password": "afterglow-demo"},
                headers={"x-csrf-token": client.cookies["csrftoken"]},
            )
            assert signed_in.status_code == 200, signed_in.text
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        lines = output.rest(5)
        postmaster = clone / "var" / "pgdata" / "postmaster.pid"
        if postmaster.exists():  # never leave a server behind, whatever failed
            os.kill(int(postmaster.read_text().split()[0]), signal.SIGINT)

    assert sum("Afterglow is ready" in line for line in lines) == 1
    # The embedded database's own output is at DEBUG: no record of pgserver's logger, nothing
    # that initdb or pg_ctl said.
    chatter = [line for line in lines if PGSERVER.search(line) or INITDB.search(line)]
    assert chatter == [], "\n".join(chatter[:10])
    assert not postmaster.exists(), "Ctrl-C stops the embedded PostgreSQL"
