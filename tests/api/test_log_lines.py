"""A request cannot write log lines of its own: every request-derived value in a log line has its
control characters escaped, so a path such as ``/x%0a<a forged line>`` stays on its one line."""

from __future__ import annotations

import logging
from typing import Any

import pytest

FORGED = "2025-01-01 09:00:00,000 INFO afterglow.access POST /api/v1/auth/login 200 1.0ms"


@pytest.mark.parametrize(
    ("path", "raw", "escaped"),
    [
        (f"/x%0a{FORGED}", "\n", "/x\\x0a2025-01-01"),
        (f"/x%0d%0a{FORGED}", "\r", "/x\\x0d\\x0a2025-01-01"),
        ("/api/v1/me%0a" + FORGED.replace(" ", "%20"), "\n", "/api/v1/me\\x0a2025-01-01"),
        ("/x%1b%5b2J%1b%5bH", "\x1b", "/x\\x1b[2J\\x1b[H"),  # a terminal's clear screen
        ("/x%e2%80%a8forged", "\u2028", "/x\\u2028forged"),  # a line break to some viewers
        ("/x%00nul", "\x00", "/x\\x00nul"),
    ],
)
async def test_a_path_cannot_forge_an_access_log_line(
    client_factory: Any, caplog: pytest.LogCaptureFixture, path: str, raw: str, escaped: str
) -> None:
    caplog.set_level(logging.INFO, logger="afterglow.access")
    response = await client_factory().get(path)
    assert response.status_code == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "afterglow.access"]
    assert len(lines) == 1
    line = lines[0]
    assert raw not in line
    assert line.isprintable(), line
    # Escaped, not dropped: the line still shows what was asked for.
    assert line.startswith(f"GET {escaped}"), line


async def test_a_backslash_in_a_path_is_escaped_too(
    client_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """So that an escaped control character and a literal ``\\x0a`` can be told apart."""
    caplog.set_level(logging.INFO, logger="afterglow.access")
    await client_factory().get("/x%5Cx0a")
    (line,) = [r.getMessage() for r in caplog.records if r.name == "afterglow.access"]
    assert "/x\\\\x0a" in line
