"""The sign-in rules (services/lockout.py) as numbers, without a database: how long each key
waits after how many attempts, and when a count starts again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.services.lockout import ACCOUNT, ADDRESS, PAIR
from server.store.throttle import Count

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def count(attempts: int, *, since: timedelta, last: timedelta = timedelta(0)) -> Count:
    """``attempts`` counted, the first ``since`` ago and the last ``last`` ago."""
    return Count(key="k", attempts=attempts, since=NOW - since, last_at=NOW - last, now=NOW)


def test_a_pair_gets_five_tries_then_waits_that_double_up_to_half_an_hour() -> None:
    assert [PAIR.wait(count(n, since=timedelta(minutes=1))) for n in range(5)] == [timedelta(0)] * 5
    waits = [PAIR.wait(count(n, since=timedelta(hours=2))) for n in range(5, 12)]
    minutes = [int(w.total_seconds() // 60) for w in waits]
    assert minutes == [1, 2, 4, 8, 16, 30, 30]


def test_a_wait_runs_from_the_last_attempt() -> None:
    assert PAIR.wait(count(6, since=timedelta(hours=1), last=timedelta(seconds=90))) == (
        timedelta(seconds=30)
    )
    assert PAIR.wait(count(6, since=timedelta(hours=1), last=timedelta(minutes=3))) == (
        timedelta(0)
    )


def test_a_pair_starts_again_a_day_after_its_first_attempt() -> None:
    stale = count(40, since=timedelta(days=1, seconds=1))
    assert PAIR.wait(stale) == timedelta(0)
    assert PAIR.counted(stale).attempts == 1
    assert PAIR.counted(stale).since == NOW


def test_the_account_ceiling_is_ten_times_a_pair_and_lasts_its_hour() -> None:
    assert ACCOUNT.free == 10 * PAIR.free
    assert ACCOUNT.wait(count(49, since=timedelta(minutes=10))) == timedelta(0)
    assert ACCOUNT.wait(count(50, since=timedelta(minutes=10))) == timedelta(minutes=50)
    assert ACCOUNT.wait(count(50, since=timedelta(hours=1))) == timedelta(0)


def test_an_address_gets_twenty_tries_a_quarter_of_an_hour() -> None:
    assert ADDRESS.wait(count(19, since=timedelta(minutes=5))) == timedelta(0)
    assert ADDRESS.wait(count(20, since=timedelta(minutes=5))) == timedelta(minutes=10)
