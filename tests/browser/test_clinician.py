"""The psychiatrist's side, in Chromium: the patient list, a patient's summary for each range,
its print on two A4/Letter sheets, who may see it, and the patient's trail of every view.

The clinic is the demo generator's (server/demo/): five patients with 90 days of check-ins,
weekly PHQ-9 and GAD-7, six infusions and a share with the demo clinician. Daniel Reyes answered
PHQ-9 item 9 above 0 last week, so he heads the list. The numbers the page must show are worked
out here from the rows in PostgreSQL, not taken from the app.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pypdf
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, expect

from server import db as server_db
from server import security
from server.config import Settings
from server.demo import CLINICIAN_EMAIL, DEMO_PASSWORD, PATIENTS, create_demo_clinic
from server.domain.records import SIDE_EFFECT_CODES
from server.pwa.pages import SIDE_EFFECT_LABELS
from server.services import passwords
from server.store import users as user_store
from tests.helpers.accounts import PASSWORD, unique_email
from tests.helpers.browser import Db, csrf, png_size, reflow, text_size
from tests.helpers.live_server import ROOT, LiveServer

pytestmark = pytest.mark.browser

AXE = Axe()
DESK = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = ROOT / "tests" / "artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
PRESETS = ("since_infusion", "30", "90", "all")
MAX_SHEETS = 2
RECORD_NUMBER = "AG-20417"
# What never gives way on paper: on the first sheet for every patient, then (for a typical one)
# side effects, the newest notes and afterglow too.
FIRST_SHEET = ("Flags", "At a glance", "Mood", "PHQ-9 and GAD-7")
TYPICAL_FIRST_SHEET = (*FIRST_SHEET, "Side effects", "Patient's notes", "Afterglow")
HEADING_PT = 9.5  # headings print at 10 pt and up; body text at 8.5 pt and less
URGENT = next(p for p in PATIENTS if p.item9_days_ago is not None)  # Daniel Reyes
OTHER = next(p for p in PATIENTS if p.item9_days_ago is None and p.first_infusion is not None)


class Clinic(msgspec.Struct):
    urgent_id: str  # the patient with an item-9 answer: the one this file reads
    other_id: str  # another patient of the clinician's: the one whose share is withdrawn
    stranger_email: str  # a clinician nobody shares with
    busy_email: str  # a clinician of the fullest patient's only


@pytest.fixture(scope="module")
async def clinic(live: LiveServer, settings: Settings, database_url: str) -> Clinic:
    """The demo clinic in the live server's database, plus a clinician without any share."""
    pool = await server_db.create_pool(database_url, settings, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await create_demo_clinic(conn)
            stranger, busy = unique_email("clinician"), unique_email("clinician")
            for email, name in ((stranger, "Dr. Nobody"), (busy, "Dr. Busy")):
                await user_store.create_user(
                    conn,
                    email=email,
                    role="clinician",
                    password_hash=await passwords.hash_password(PASSWORD),
                    display_name=name,
                    timezone="America/New_York",
                )
            ids = {
                email: str(uid)
                for email, uid in await conn.fetch(
                    "SELECT email, id FROM users WHERE email = ANY($1::text[])",
                    [URGENT.email, OTHER.email],
                )
            }
    finally:
        await pool.close()
    return Clinic(ids[URGENT.email], ids[OTHER.email], stranger, busy)


@pytest.fixture
async def desk(browser: Browser, live: LiveServer) -> AsyncIterator[BrowserContext]:
    """A desktop browser at the clinic (the clinician's pages are desktop first)."""
    ctx = await browser.new_context(
        base_url=live.url,
        viewport=DESK,
        device_scale_factor=1,
        locale="en-US",
        timezone_id="America/New_York",
    )
    ctx.set_default_timeout(15_000)
    yield ctx
    await ctx.close()


async def sign_in(page: Page, email: str, password: str) -> None:
    """Through the real sign-in page, which sends a clinician to their patient list."""
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url("**/clinician")


async def api_client(live: LiveServer) -> httpx.AsyncClient:
    """An API session like the app's own: cookies, and the CSRF header on every call."""
    client = httpx.AsyncClient(base_url=live.url, timeout=10)
    await client.get("/healthz")
    client.headers[security.CSRF_HEADER] = client.cookies[security.CSRF_COOKIE]
    return client


async def patient_api(live: LiveServer, email: str) -> httpx.AsyncClient:
    """A demo patient, signed in."""
    client = await api_client(live)
    response = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return client


# --- what the page must say, from the stored rows -------------------------------------------


def long_day(day: date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


def parse_day(text: str) -> date:
    return datetime.strptime(text.strip(), "%b %d, %Y").date()


def pct(value: float) -> str:
    return f"{value:+.0f}%".replace("-", "−")


class Log(msgspec.Struct):
    zone: ZoneInfo
    started: date
    checkin_days: set[date]
    phq9: list[tuple[datetime, date, int, int]]  # taken_at, local day, total, item 9
    given: list[tuple[datetime, date]]  # infusions given so far: scheduled_at, local day
    planned: list[datetime]  # infusions still to come
    notes: list[tuple[datetime, date, str | None, str | None]]  # recorded_at, day, note, other


async def read_log(db: Db, patient_id: str) -> Log:
    user = await db.fetchrow("SELECT timezone, created_at FROM users WHERE id = $1", patient_id)
    assert user is not None
    zone = ZoneInfo(user["timezone"])
    days = {
        r["local_day"]
        for r in await db.fetch(
            "SELECT local_day FROM checkins WHERE patient_id = $1 AND NOT deleted", patient_id
        )
    }
    phq9 = [
        (r["taken_at"], r["local_day"], r["total"], r["answers"][8])
        for r in await db.fetch(
            """SELECT taken_at, local_day, total, answers FROM assessments
                WHERE patient_id = $1 AND instrument = 'phq9' AND NOT deleted
                ORDER BY taken_at""",
            patient_id,
        )
    ]
    given = [
        (r["scheduled_at"], r["local_day"])
        for r in await db.fetch(
            """SELECT scheduled_at, local_day FROM infusions
                WHERE patient_id = $1 AND NOT deleted AND status <> 'cancelled'
                  AND scheduled_at <= now() ORDER BY scheduled_at""",
            patient_id,
        )
    ]
    planned = [
        r["scheduled_at"]
        for r in await db.fetch(
            """SELECT scheduled_at FROM infusions
                WHERE patient_id = $1 AND NOT deleted AND status = 'planned'
                  AND scheduled_at > now() ORDER BY scheduled_at""",
            patient_id,
        )
    ]
    notes = [
        (r["recorded_at"], r["local_day"], r["note"], r["other"])
        for r in await db.fetch(
            """SELECT recorded_at, local_day, note,
                      (SELECT e->>'text' FROM jsonb_array_elements(side_effects) e
                        WHERE e->>'code' = 'other' LIMIT 1) AS other
                 FROM checkins WHERE patient_id = $1 AND NOT deleted
                  AND (note IS NOT NULL OR side_effects @> '[{"code": "other"}]')
                ORDER BY recorded_at DESC""",
            patient_id,
        )
    ]
    started = min([user["created_at"].astimezone(zone).date(), *days])
    return Log(zone, started, days, phq9, given, planned, notes)


def expected_first(log: Log, preset: str, today: date) -> date:
    if preset == "since_infusion":
        return log.given[-1][1]
    if preset == "all":
        return log.started
    return today - timedelta(days=int(preset) - 1)


async def numbers(page: Page) -> dict[str, str]:
    """The "At a glance" list: label → value, as a reader sees them."""
    found: dict[str, str] = {}
    for item in await page.locator(".numbers dl > div").all():
        label = await item.locator("dt").inner_text()
        found[label.strip()] = " ".join((await item.locator("dd").inner_text()).split())
    return found


def check_numbers(shown: dict[str, str], log: Log, first: date, last: date, today: date) -> None:
    assert len(log.given) == 6, "the demo's induction series"
    start = log.given[0][0]
    # The baseline: the last PHQ-9 in the 30 days before the first infusion; a verdict needs it
    # to be 10 or more, and a PHQ-9 since the infusion.
    baseline = [p for p in log.phq9 if start - timedelta(days=30) <= p[0] < start][-1]
    latest = [p for p in log.phq9 if p[1] <= last][-1]
    assert shown["PHQ-9 baseline"] == f"{baseline[2]} {long_day(baseline[1])}"
    assert shown["PHQ-9 latest"].startswith(f"{latest[2]} ")
    assert shown["PHQ-9 latest"].endswith(long_day(latest[1]))
    change = (latest[2] - baseline[2]) * 100 / baseline[2]
    assert shown["Change from baseline"].split(" ")[0] == pct(change)
    assert baseline[2] >= 10 and latest[0] >= start, "the demo allows a verdict"
    # A partial response (25–49% lower) is said as on the list.
    response = "Yes" if 2 * latest[2] <= baseline[2] else "No"
    if response == "No" and change <= -25:
        response = "Partial response (25–49% lower)"
    assert shown["Response (latest PHQ-9 ≤ 50% of baseline)"] == response
    assert shown["Remission (latest PHQ-9 < 5)"] == ("Yes" if latest[2] < 5 else "No")
    # Adherence: days with a check-in, from the later of the range's start and the patient's,
    # up to yesterday (today too once logged).
    begin = max(first, log.started)
    end = min(last, today if today in log.checkin_days else today - timedelta(days=1))
    total = (end - begin).days + 1
    logged = sum(1 for d in log.checkin_days if begin <= d <= end)
    match = re.fullmatch(r"(\d+)% (\d+) of (\d+) days logged", shown["Adherence"])
    assert match, shown["Adherence"]
    assert (int(match[2]), int(match[3])) == (logged, total)
    assert abs(int(match[1]) - logged * 100 / total) <= 0.51
    assert shown["Last check-in"] == long_day(max(log.checkin_days))
    assert shown["Last infusion"] == long_day(log.given[-1][1])
    coming = log.planned[0].astimezone(log.zone) if log.planned else None
    assert shown["Next infusion"] == (
        f"{long_day(coming.date())} {coming:%H:%M}" if coming else "none planned"
    )


async def check_notes(page: Page, log: Log, first: date, last: date) -> None:
    """The patient's words in the range, newest first, each with its day since infusion."""
    expected = [n for n in log.notes if first <= n[1] <= last][:20]
    items = page.locator(".note-list li")
    await expect(items).to_have_count(len(expected))
    given_days = [d for _, d in log.given]
    for item, (_, day, note, other) in zip(await items.all(), expected, strict=True):
        text = " ".join((await item.inner_text()).split())
        since = [(day - d).days for d in given_days if d <= day]
        when = (
            "before the first infusion"
            if not since
            else "infusion day"
            if since[-1] == 0
            else f"day {since[-1]} after infusion"
        )
        assert text.startswith(f"{day:%b} {day.day}"), text
        assert when in text, (when, text)
        for words in (note, other):
            assert words is None or " ".join(words.split()) in text, (words, text)


# --- printing -------------------------------------------------------------------------------


class Sheet(msgspec.Struct):
    text: str  # its words, single-spaced
    foot: list[tuple[float, str]]  # the lowest line above the page number: (size in pt, text)

    @property
    def heading_at_foot(self) -> bool:
        """The sheet ends on a line of heading text alone: a heading cut from its section."""
        return all(size >= HEADING_PT for size, _ in self.foot)


def read_sheet(page: pypdf.PageObject) -> Sheet:
    """A printed sheet's text, and its last line with the size of each piece of text (PDF y
    runs up from the foot; the page number in the bottom margin is left out)."""
    lines: dict[int, list[tuple[float, str]]] = defaultdict(list)

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if text.strip():
            y = round(tm[4] * cm[1] + tm[5] * cm[3] + cm[5])
            lines[y].append((size * tm[3] * cm[3], text.strip()))

    text = page.extract_text(visitor_text=visit)
    number = {y for y, items in lines.items() if any(t == "Page" for _, t in items)}
    body = [y for y in lines if y not in number]
    return Sheet(" ".join(text.split()), lines[min(body)] if body else [])


def read_sheets(pdf: bytes) -> list[Sheet]:
    return [read_sheet(page) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def check_sheets(pdf: bytes, name: str, record: str, span: str, clinician: str) -> list[Sheet]:
    """One or two sheets, each headed with the patient, their record number, the range and who
    printed it, and numbered; no heading left alone at the foot of a sheet."""
    assert pdf.startswith(b"%PDF-"), "not a PDF"
    found = read_sheets(pdf)
    assert 1 <= len(found) <= MAX_SHEETS, len(found)
    for n, sheet in enumerate(found, 1):
        for words in (name, record, span, f"Printed by {clinician}", f"Page {n} of {len(found)}"):
            assert words in sheet.text, (n, words, sheet.text[:300])
    for sheet in found[:-1]:
        assert not sheet.heading_at_foot, sheet.foot
    return found


def on_first_sheet(sheet: Sheet, headings: tuple[str, ...]) -> None:
    # PDF text may carry the "ff" ligature ("Side eﬀects").
    text = sheet.text.replace("\ufb00", "ff")
    missing = [h for h in headings if h not in text]
    assert not missing, missing


def artifact(data: bytes, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_bytes(data)


def keep(data: bytes, name: str) -> None:
    """Every run's pictures under tests/artifacts/; the README's only on request."""
    artifact(data, name)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / name, DOCS / name)


async def no_serious_violations(page: Page, name: str) -> None:
    results = await AXE.run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: {bad}"


async def fullest_patient(live: LiveServer) -> tuple[httpx.AsyncClient, str]:
    """A patient whose summary is as long as it gets: every side effect severe every day (a
    flag a day, each naming twelve effects), infusions twice a week (more afterglow rows than
    print), a weekly PHQ-9 swinging between 5 and 23 with item 9 at 3 (more flags)."""
    client = await api_client(live)
    response = await client.post(
        "/api/v1/auth/register",
        json={
            "email": unique_email(),
            "password": PASSWORD,
            "display_name": "Alexandra Montgomery-Villanueva",
            "timezone": "Pacific/Auckland",
        },
    )
    assert response.status_code == 201, response.text
    patient_id = response.json()["id"]
    now = datetime.now(UTC).replace(microsecond=0)
    changes: list[dict[str, Any]] = []

    def add(kind: str, data: dict[str, Any]) -> None:
        changes.append(
            {
                "kind": kind,
                "id": str(uuid.uuid4()),
                "op": "upsert",
                "updated_at": now.isoformat(),
                "data": data,
            }
        )

    every_effect = [
        {"code": code, "severity": 3, **({"text": "ringing ears"} if code == "other" else {})}
        for code in SIDE_EFFECT_CODES
    ]
    for back in range(89, 0, -1):
        add(
            "checkin",
            {
                "recorded_at": (now - timedelta(days=back)).isoformat(),
                "mood": (back * 7) % 11,
                "side_effects": every_effect,
            },
        )
    for back in range(84, 0, -3):
        add(
            "infusion",
            {
                "scheduled_at": (now - timedelta(days=back, hours=2)).isoformat(),
                "duration_minutes": 40,
                "status": "completed",
            },
        )
    for week, back in enumerate(range(88, 0, -7)):
        high = week % 2 == 1
        phq9 = [3, 3, 3, 3, 3, 2, 2, 1, 3] if high else [1, 1, 0, 0, 0, 0, 0, 0, 3]
        gad7 = [3, 3, 2, 2, 2, 2, 2] if high else [1, 0, 0, 0, 0, 0, 1]
        taken = (now - timedelta(days=back)).isoformat()
        add("assessment", {"instrument": "phq9", "answers": phq9, "taken_at": taken})
        add("assessment", {"instrument": "gad7", "answers": gad7, "taken_at": taken})
    response = await client.post("/api/v1/sync", json={"changes": changes, "since": None})
    assert response.status_code == 200, response.text
    assert {r["status"] for r in response.json()["results"]} == {"applied"}
    return client, patient_id


# --- the tests ------------------------------------------------------------------------------


async def test_list_and_summary_for_every_range_read_and_print_well(
    clinic: Clinic, desk: BrowserContext, db: Db, live: LiveServer
) -> None:
    page = await desk.new_page()
    await sign_in(page, CLINICIAN_EMAIL, DEMO_PASSWORD)

    # The list: flags first, an item 9 answer before anything else.
    await expect(page.get_by_role("heading", name="Patients", level=1)).to_be_visible()
    rows = page.locator("table.patients tbody tr")
    classes = [await r.get_attribute("class") or "" for r in await rows.all()]
    rank = {"urgent": 0, "flagged": 1, "": 2}
    assert [rank[c] for c in classes] == sorted(rank[c] for c in classes), classes
    first_row = rows.first
    assert classes[0] == "urgent"
    await expect(first_row.get_by_role("rowheader")).to_have_text(URGENT.name)
    await expect(first_row).to_contain_text("PHQ-9 item 9")
    await no_serious_violations(page, "clinician-list")
    keep(await page.screenshot(full_page=True), "clinician-list.png")

    log = await read_log(db, clinic.urgent_id)
    item9 = [p for p in log.phq9 if p[3] > 0]
    assert item9, "the demo has an item 9 answer above 0"
    await first_row.get_by_role("link", name=URGENT.name).click()
    await page.wait_for_url(f"**/clinician/patients/{clinic.urgent_id}")
    # The clinic's record number, set on the share from the page: it heads every printed sheet.
    await page.get_by_label("Clinic record number").fill(RECORD_NUMBER)
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_label("Clinic record number")).to_have_value(RECORD_NUMBER)

    viewed: list[tuple[str, str]] = []
    for preset in PRESETS:
        before = datetime.now(log.zone).date()
        response = await page.goto(f"/clinician/patients/{clinic.urgent_id}?range={preset}")
        after = datetime.now(log.zone).date()
        assert response is not None and response.status == 200, preset
        await expect(page.get_by_role("heading", name=URGENT.name, level=1)).to_be_visible()
        current = page.get_by_role("navigation", name="Time range").locator("[aria-current=page]")
        await expect(current).to_have_count(1)
        assert (await current.get_attribute("href")) == f"?range={preset}"

        # The range it says it shows.
        span = (await page.locator(".summary-head .range").inner_text()).split("(")[0]
        first, last = (parse_day(part) for part in span.split("–"))
        assert last in (before, after), (preset, last)
        today = last
        assert first == expected_first(log, preset, today), preset
        viewed.append((first.isoformat(), last.isoformat()))

        # Both charts are there, each a named image (aria-labelledby needs unique ids).
        duplicates = await page.evaluate(
            """() => { const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
                       return ids.filter((id, i) => ids.indexOf(id) !== i); }"""
        )
        assert not duplicates, duplicates
        mood = page.locator("svg.chart-mood")
        scores = page.locator("svg.chart-scores")
        await expect(mood).to_have_attribute("role", "img")
        await expect(mood).to_have_accessible_name(re.compile(r"^Mood by day"))
        await expect(scores).to_have_attribute("role", "img")
        await expect(scores).to_have_accessible_name(re.compile(r"^PHQ-9 and GAD-7 scores"))
        assert await mood.locator("path.mood-line").get_attribute("d"), "no mood line"
        in_range = sum(1 for p in log.phq9 if first <= p[1] <= last)
        await expect(scores.locator("circle.phq9-line-dot")).to_have_count(in_range)
        given_in_range = sum(1 for _, d in log.given if first <= d <= last)
        await expect(mood.locator("line.infusion")).to_have_count(given_in_range)

        # The numbers a psychiatrist checks before the session, and the patient's own words.
        check_numbers(await numbers(page), log, first, last, today)
        await check_notes(page, log, first, last)
        effects = await page.locator("table.effects tbody th").all_inner_texts()
        assert effects and set(effects) <= set(SIDE_EFFECT_LABELS.values()), effects
        flag_items = page.locator(".flags li.flag-item")
        for text in await flag_items.all_inner_texts():
            assert re.match(r"^.+, [A-Z][a-z]{2} \d{1,2}(, \d{4})?: ", text), text
        for _, day, _, answer in item9:
            if first <= day <= last:
                when = f"{day:%b} {day.day}" + ("" if day.year == last.year else f", {day.year}")
                item = page.locator(".flags li.flag-item9", has_text=f"PHQ-9 item 9, {when}:")
                await expect(item).to_contain_text(f"answered {answer} of 3")

        await no_serious_violations(page, f"clinician-summary-{preset}")

        # Two sheets at most, on either paper, each headed and numbered; what never gives way
        # on the first.
        for paper in ("A4", "Letter"):
            pdf = await page.pdf(format=paper, print_background=True)
            printed = check_sheets(
                pdf,
                URGENT.name,
                f"Record no. {RECORD_NUMBER}",
                f"{long_day(first)} – {long_day(last)}",
                "Dr. Ana Lindqvist",
            )
            on_first_sheet(printed[0], TYPICAL_FIRST_SHEET)
            if preset == "90" and paper == "A4":
                keep(pdf, "clinician-summary.pdf")
            elif preset == "90":
                artifact(pdf, "clinician-summary-letter.pdf")
        if preset == "90":
            shot = await page.screenshot()
            assert png_size(shot) == (DESK["width"], DESK["height"])
            keep(shot, "clinician-summary.png")

    # Each view is in the patient's access log: who, when, which days.
    patient = await patient_api(live, URGENT.email)
    try:
        log_page = (await patient.get("/api/v1/me/access-log", params={"limit": 200})).json()
    finally:
        await patient.aclose()
    views = [
        e
        for e in log_page["items"]
        if e["action"] == "view_summary" and (e["detail"] or {}).get("page")
    ]
    assert all(e["actor"]["role"] == "clinician" for e in views)
    assert all(e["actor"]["name"] == "Dr. Ana Lindqvist" for e in views)
    # Opening the patient from the list showed the default range (90 days), and again after
    # the record number was saved, then each preset.
    ninety = viewed[PRESETS.index("90")]
    assert [(e["detail"]["from"], e["detail"]["to"]) for e in reversed(views)] == [
        ninety,
        ninety,
        *viewed,
    ]
    assert "record_number_set" in [e["action"] for e in log_page["items"]]
    listed = [e for e in log_page["items"] if e["action"] == "view_patient_list"]
    assert listed, "the list view is in the log too"


async def test_every_summary_prints_on_two_sheets(
    clinic: Clinic, desk: BrowserContext, live: LiveServer
) -> None:
    """The other demo patients (severe side effects; stopped logging; no infusion yet) and the
    fullest summary there can be, each range, on A4 and on Letter."""
    page = await desk.new_page()
    patient, fullest_id = await fullest_patient(live)
    try:
        code = (await patient.post("/api/v1/shares", json={})).json()["code"]
    finally:
        await patient.aclose()
    await sign_in(page, clinic.busy_email, PASSWORD)
    accepted = await desk.request.post(
        "/api/v1/shares/accept",
        data=json.dumps({"code": code}),
        headers={"content-type": "application/json", "x-csrf-token": await csrf(desk)},
    )
    assert accepted.status == 200, await accepted.text()
    fullest = [(fullest_id, preset) for preset in PRESETS]
    await check_prints(page, fullest, "Dr. Busy")
    # It really is the worst case: the flags and afterglow rows are cut to what fits, but never
    # an item-9 answer (13 of them, weekly): those are all there, and the other flags go.
    await expect(page.locator(".flags li.flag-item")).to_have_count(13)
    await expect(page.locator(".flags li.flag-item9")).to_have_count(13)
    await expect(page.locator(".flags li.muted")).to_contain_text("earlier flags")
    await expect(page.locator("table.afterglow tbody tr")).to_have_count(12)
    await expect(page.locator("table.effects tbody tr")).to_have_count(len(SIDE_EFFECT_CODES))

    await page.context.clear_cookies()
    await sign_in(page, CLINICIAN_EMAIL, DEMO_PASSWORD)
    names = [p.name for p in PATIENTS if p not in (URGENT, OTHER)]
    ids = [await page.get_by_role("link", name=name).get_attribute("href") or "" for name in names]
    await check_prints(
        page,
        [(href.rsplit("/", 1)[1], preset) for href in ids for preset in PRESETS],
        "Dr. Ana Lindqvist",
    )


async def check_prints(page: Page, views: list[tuple[str, str]], clinician: str) -> None:
    for patient_id, preset in views:
        response = await page.goto(f"/clinician/patients/{patient_id}?range={preset}")
        assert response is not None and response.status == 200
        name = await page.get_by_role("heading", level=1).inner_text()
        span = (await page.locator(".summary-head .range").inner_text()).split(" (")[0]
        for paper in ("A4", "Letter"):
            pdf = await page.pdf(format=paper, print_background=True)
            artifact(pdf, f"print-{patient_id}-{preset}-{paper}.pdf")  # for a look at the breaks
            printed = check_sheets(pdf, name, "no clinic record number", span, clinician)
            on_first_sheet(printed[0], FIRST_SHEET)


async def test_a_clinician_without_a_share_gets_not_found(
    clinic: Clinic, desk: BrowserContext, live: LiveServer
) -> None:
    page = await desk.new_page()
    await sign_in(page, clinic.stranger_email, PASSWORD)
    await expect(page.get_by_text("No patient shares their log with you yet")).to_be_visible()
    response = await page.goto(f"/clinician/patients/{clinic.urgent_id}")
    assert response is not None and response.status == 404
    assert URGENT.name not in await page.content()
    api = await desk.request.get(f"/api/v1/patients/{clinic.urgent_id}/summary")
    assert api.status == 404
    # Nothing was shown, so nothing is in the patient's log under this clinician's name.
    patient = await patient_api(live, URGENT.email)
    try:
        trail = (await patient.get("/api/v1/me/access-log", params={"limit": 200})).json()
    finally:
        await patient.aclose()
    assert trail["items"], "the patient's log has the demo's own entries"
    assert all(e["actor"]["name"] != "Dr. Nobody" for e in trail["items"])


async def test_a_withdrawn_share_closes_the_page_on_the_next_load(
    clinic: Clinic, desk: BrowserContext, live: LiveServer
) -> None:
    page = await desk.new_page()
    await sign_in(page, CLINICIAN_EMAIL, DEMO_PASSWORD)
    await expect(page.get_by_role("link", name=OTHER.name)).to_be_visible()
    path = f"/clinician/patients/{clinic.other_id}"
    response = await page.goto(path)
    assert response is not None and response.status == 200

    patient = await patient_api(live, OTHER.email)
    try:
        shares: list[dict[str, Any]] = (await patient.get("/api/v1/shares")).json()
        active = [s for s in shares if s["status"] == "active"]
        assert len(active) == 1, shares
        revoked = await patient.delete(f"/api/v1/shares/{active[0]['id']}")
        assert revoked.status_code == 204, revoked.text

        response = await page.reload()
        assert response is not None and response.status == 404
        assert OTHER.name not in await page.content()
        # The refused load shows nothing, so it is no view in the patient's log.
        trail = (await patient.get("/api/v1/me/access-log")).json()["items"]
        assert trail[0]["action"] == "share_revoke", trail[0]
        assert "view_summary" in [e["action"] for e in trail[1:]]
    finally:
        await patient.aclose()
    await page.goto("/clinician")
    await expect(page.get_by_role("heading", name="Patients", level=1)).to_be_visible()
    await expect(page.get_by_role("link", name=OTHER.name)).to_have_count(0)


CLINICIAN_PAGES = ("/clinician", "/clinician/accept", "/mfa/setup", "/passkeys")


async def test_the_clinician_pages_fit_a_phone_at_large_text_and_pass_axe(
    clinic: Clinic, browser: Browser, live: LiveServer
) -> None:
    """WCAG 2.2 reflow and resize text on the clinician's pages too: at 320 px and at 200% text
    (the browser's own size, Page.setFontSizes) nothing scrolls sideways but a wide table in its
    own box; and no serious or critical axe finding at 390 px and 1280 px, light and dark."""
    paths = (*CLINICIAN_PAGES, f"/clinician/patients/{clinic.urgent_id}")
    bad = []
    for width, size in ((320, 16), (390, 32), (320, 32)):
        ctx = await browser.new_context(
            base_url=live.url,
            viewport={"width": width, "height": 640},
            device_scale_factor=1,
            is_mobile=True,
            has_touch=True,
            locale="en-US",
            timezone_id="America/New_York",
        )
        try:
            page = await ctx.new_page()
            await text_size(page, size)
            await sign_in(page, CLINICIAN_EMAIL, DEMO_PASSWORD)
            for path in paths:
                await page.goto(path)
                await page.wait_for_load_state("networkidle")
                seen = await reflow(page, width)
                help_now = seen["help"]  # not on these pages; whole where a page shows it
                if seen["scrollWidth"] > width or (
                    help_now and (help_now[0] < 0 or help_now[1] > width)
                ):
                    bad.append(f"{width} px, {size} px text, {path}: {seen}")
            if (width, size) == (320, 32):  # the summary, last of the paths
                await page.locator("#numbers-title").scroll_into_view_if_needed()
                keep(await page.screenshot(), "clinician-summary-200-text.png")
        finally:
            await ctx.close()
    assert not bad, "\n".join(bad)

    for viewport in (PHONE, DESK):
        ctx = await browser.new_context(
            base_url=live.url, viewport=viewport, device_scale_factor=1, locale="en-US"
        )
        try:
            page = await ctx.new_page()
            await sign_in(page, CLINICIAN_EMAIL, DEMO_PASSWORD)
            for scheme in ("light", "dark"):
                await page.emulate_media(color_scheme=scheme)
                for path in paths:
                    await page.goto(path)
                    await page.wait_for_load_state("networkidle")
                    await no_serious_violations(page, f"{path} at {viewport['width']} px, {scheme}")
                    if viewport == DESK and scheme == "light" and path == "/clinician/accept":
                        keep(await page.screenshot(), "clinician-accept.png")
        finally:
            await ctx.close()
