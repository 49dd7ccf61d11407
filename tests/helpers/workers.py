"""Reminder workers (`python -m server worker`) in subprocesses, for the fault tests."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers.live_server import ROOT


class Workers:
    """`python -m server worker` processes, started and killed at will."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = open(os.path.join(self.env["AFTERGLOW_DATA_DIR"], "workers.log"), "ab")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "worker"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
