"""Summary and clinician list: read latency with a realistic table behind them.

The tables hold 1,000 patients' history (half a year to two years each: daily check-ins, weekly
PHQ-9s, GAD-7s every other week, infusions), loaded with COPY. Two signed-in patients have one
and three years; a clinician has 500 of the patients shared. Each endpoint is timed over
loopback, one keep-alive connection, sequential requests, median of N, beside ``GET /api/v1/me``
(a signed-in request that reads no patient data) in the same run.

Targets: 3-year summary < 50 ms; the step from 1 to 3 years no more than the rows grow (3×);
clinician list of 500 patients (one page of 500) < 100 ms.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from bench import harness, synthetic
from bench.harness import Options, Skip
from bench.report import Figure

NAME = "summary"
SUMMARY = "/api/v1/patients/{id}/summary"
CLINICIAN_LIST = "/api/v1/clinician/patients"
ME = "/api/v1/me"


async def load(
    database_url: str,
    *,
    background: int,
    targets: list[tuple[harness.Account, int]],
    clinician_email: str,
    shared: int,
    today: date,
) -> dict[str, int]:
    """Background patients, the targets' history, the clinician's shares. Row counts."""
    conn = await asyncpg.connect(database_url, timeout=10)
    try:
        oldest = max(days for _, days in targets) + 30
        started = datetime.now(UTC) - timedelta(days=oldest)
        patients = await synthetic.copy_patients(conn, background, created_at=started)
        history = synthetic.History(today)
        counts = {"checkins": 0, "assessments": 0, "infusions": 0}
        for n, patient_id in enumerate(patients):
            history.add(patient_id, 180 + (n * 211) % 370)  # 180-549 days, a year on average
            if len(history.checkins) > 100_000:
                for table, rows in (await history.copy(conn)).items():
                    counts[table] += rows
        for account, days in targets:
            history.add(account.id, days)
            await conn.execute(
                "UPDATE users SET created_at = $2 WHERE id = $1",
                account.id,
                datetime.now(UTC) - timedelta(days=days),
            )
        for table, rows in (await history.copy(conn)).items():
            counts[table] += rows
        clinician_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", clinician_email)
        await synthetic.share_with(conn, clinician_id, patients[:shared])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    counts["patients"] = background + len(targets)
    return counts


async def run(options: Options) -> list[Figure]:
    count = options.pick(40, 8)
    background = options.pick(1000, 150)
    shared = options.pick(500, 100)
    figures: list[Figure] = []
    async with harness.database() as database_url, harness.real_app(database_url, options) as app:
        missing = [
            path
            for path in (SUMMARY, CLINICIAN_LIST)
            if not await harness.has_route(app.base_url, "GET", path)
        ]
        if len(missing) == 2:
            raise Skip("GET " + " and GET ".join(missing) + " are not in the app yet")
        one_year = await harness.register_patient(app.base_url)
        three_years = await harness.register_patient(app.base_url)
        clinician_email = await synthetic.create_clinician(database_url)
        today = datetime.now(ZoneInfo(synthetic.ZONE_NAME)).date()
        clock = time.monotonic()
        counts = await load(
            database_url,
            background=background,
            targets=[(one_year, 365), (three_years, 3 * 365)],
            clinician_email=clinician_email,
            shared=shared,
            today=today,
        )
        loaded = (
            f"tables: {counts['patients']} patients, {counts['checkins']:,} check-ins, "
            f"{counts['assessments']:,} assessments, {counts['infusions']:,} infusions "
            f"(loaded in {time.monotonic() - clock:.0f} s)"
        )

        async with one_year.client(app.base_url) as client:
            me = statistics.median(await harness.time_requests(client, ME, count=count))
        baseline = f"GET /me {me:.1f} ms"
        figures.append(Figure(NAME, "GET /me median (baseline)", me, "ms", note=loaded))

        if SUMMARY in missing:
            figures.append(
                Figure(NAME, "summary", None, "", status="skip", note=f"GET {SUMMARY} not there")
            )
        else:
            medians = {}
            for years, account in ((1, one_year), (3, three_years)):
                first = today - timedelta(days=365 * years - 1)
                async with account.client(app.base_url) as client:
                    timings = await harness.time_requests(
                        client,
                        SUMMARY.format(id=account.id),
                        count=count,
                        params={"from": first.isoformat(), "to": today.isoformat()},
                    )
                medians[years] = statistics.median(timings)
                figures.append(
                    Figure(
                        NAME,
                        f"summary, {years} year{'s' if years > 1 else ''} (median)",
                        medians[years],
                        "ms",
                        target="< 50 ms" if years == 3 else "",
                        ok=medians[years] < 50 if years == 3 else None,
                        baseline=baseline,
                        ratio=medians[years] / me,
                        note=f"p90 {harness.percentile(timings, 90):.1f} ms over "
                        f"{len(timings)} requests",
                    )
                )
            growth = medians[3] / medians[1]
            figures.append(
                Figure(
                    NAME,
                    "summary growth, 1 → 3 years",
                    growth,
                    "×",
                    target="≤ 3× (rows grow 3×)",
                    ok=growth <= 3.0,
                    baseline=f"1 year {medians[1]:.1f} ms",
                    ratio=growth,
                )
            )

        if CLINICIAN_LIST in missing:
            figures.append(
                Figure(
                    NAME,
                    "clinician list",
                    None,
                    "",
                    status="skip",
                    note=f"GET {CLINICIAN_LIST} not there",
                )
            )
        else:
            clinician = await harness.sign_in(app.base_url, clinician_email)
            whole = {"limit": str(shared)}  # the list is paged: all of them on one page
            async with clinician.client(app.base_url) as client:
                listed = (await client.get(CLINICIAN_LIST, params=whole)).json()
                timings = await harness.time_requests(
                    client, CLINICIAN_LIST, count=count, params=whole
                )
                clinician_me = statistics.median(await harness.time_requests(client, ME, count=5))
            rows = len(listed) if isinstance(listed, list) else len(listed.get("items", []))
            median = statistics.median(timings)
            figures.append(
                Figure(
                    NAME,
                    f"clinician list, {shared} patients (median)",
                    median,
                    "ms",
                    target="< 100 ms at 500",
                    ok=median < 100,
                    baseline=f"GET /me {clinician_me:.1f} ms",
                    ratio=median / clinician_me,
                    note=f"{rows} rows listed; p90 {harness.percentile(timings, 90):.1f} ms "
                    f"over {len(timings)} requests",
                )
            )
            if rows != shared:
                raise RuntimeError(f"the clinician list shows {rows} patients, not {shared}")
    return figures
