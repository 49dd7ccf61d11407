"""Afterglow in Spanish, end to end (issue 18): sign-up, a check-in, a PHQ-9 with item 9 above
0, History and Settings, with no visible text of the other language on any of them, and the
crisis resources in Spanish; the same walk in English. "No English" means no visible text node
equals an English message id of the catalogue (whose Spanish differs: names and numbers such as
"PHQ-9" read the same in both)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.pofile import read_po
from playwright.async_api import Browser, Page, expect

from server import db as server_db
from server import i18n, security
from server.config import Settings
from server.services import passwords
from server.services.team import create_clinic
from server.store import users as user_store
from tests.helpers.accounts import PASSWORD, register, unique_email
from tests.helpers.browser import PHONE, ZONE
from tests.helpers.live_server import LiveServer
from tests.helpers.sharing import days_ago, log_assessment, log_checkin, log_infusion, make_code

VISIBLE_TEXT = """() => {
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.replace(/\\s+/g, " ").trim();
    const element = node.parentElement;
    if (!text || !element || element.closest("script, style, template, option")) continue;
    if (!element.checkVisibility({ checkVisibilityCSS: true, checkOpacity: true })) continue;
    texts.push(text);
  }
  return texts;
}"""


@cache
def translations() -> dict[str, str]:
    """English message id -> Spanish, for the messages whose words differ."""
    with i18n.po_path("es").open("rb") as po:
        catalogue = read_po(po, locale="es")
    return {
        m.id: m.string
        for m in catalogue
        if isinstance(m.id, str) and isinstance(m.string, str) and m.id and m.string != m.id
    }


def other_language(language: str) -> set[str]:
    """The messages a page in ``language`` must not show: the other language's words."""
    pairs = translations()
    return set(pairs) if language == "es" else set(pairs.values())


async def assert_all_in(page: Page, language: str, where: str) -> None:
    await expect(page.locator("html")).to_have_attribute("lang", language)
    shown = await page.evaluate(VISIBLE_TEXT)
    assert shown, where
    wrong = sorted({text for text in shown if text in other_language(language)})
    assert not wrong, f"{where} ({language}) shows: {wrong}"


# The words the walk taps, in each language.
WORDS = {
    "en": {
        "name": "What should we call you?",
        "email": "Email",
        "password": "Password",
        "create": "Create account",
        "welcome": "Welcome",
        "next": "Next",
        "skip": "Skip",
        "reminders": "Reminders on this phone",
        "next_infusion": "Your next infusion",
        "skip_infusion": "Skip: not planned yet",
        "to_today": "Not now: go to Today",
        "today": "How are you today?",
        "save": "Save check-in",
        "saved": "Saved and synced",
        "never": "Not at all",
        "several": "Several days",
        "question": "Question {n} of 9",
        "finish": "Finish",
        "score": "Your score: 1",
        "call_988": "Call 988",
        "text_988": "Text 988",
        "sms_988": "sms:988",
        "call_911": "Call 911 if you are in danger now",
        "clinic": "Call your clinic",
        "not_monitored": "not monitored around the clock",
        "history": "History",
        "settings": "Settings",
        "signed_in_as": "Signed in as",
    },
    "es": {
        "name": "¿Cómo quieres que te llamemos?",
        "email": "Correo electrónico",
        "password": "Contraseña",
        "create": "Crear cuenta",
        "welcome": "Te damos la bienvenida",
        "next": "Siguiente",
        "skip": "Saltar",
        "reminders": "Recordatorios en este teléfono",
        "next_infusion": "Tu próxima infusión",
        "skip_infusion": "Saltar: todavía no está planeada",
        "to_today": "Ahora no: ir a Hoy",
        "today": "¿Cómo estás hoy?",
        "save": "Guardar registro",
        "saved": "Guardado y sincronizado",
        "never": "Ningún día",
        "several": "Varios días",
        "question": "Pregunta {n} de 9",
        "finish": "Terminar",
        "score": "Tu puntaje: 1",
        "call_988": "Llama al 988 y marca 2 para español",
        "text_988": "Envía AYUDA por mensaje de texto al 988",
        "sms_988": "sms:988?body=AYUDA",
        "call_911": "Llama al 911 si estás en peligro ahora",
        "clinic": "Llama a tu clínica",
        "not_monitored": "Nadie vigila esta app las 24 horas",
        "history": "Historial",
        "settings": "Ajustes",
        "signed_in_as": "Sesión iniciada como",
    },
}


@pytest.mark.parametrize("language", ["es", "en"])
async def test_the_walk_is_all_in_the_readers_language(
    browser: Browser, live: LiveServer, language: str, tmp_path: Path
) -> None:
    words = WORDS[language]
    context = await browser.new_context(
        base_url=live.url,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="es-US" if language == "es" else "en-US",  # the browser's Accept-Language
        timezone_id=ZONE,
        service_workers="allow",
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    try:
        # Sign-up, in the browser's language; the language chooser starts there.
        await page.goto("/signup")
        await assert_all_in(page, language, "/signup")
        await expect(page.locator("#language")).to_have_value(language)
        await page.get_by_label(words["name"]).fill("Ana")
        await page.get_by_label(words["email"]).fill(unique_email())
        await page.get_by_label(words["password"]).fill(PASSWORD)
        await page.get_by_role("button", name=words["create"]).click()
        await page.wait_for_url("**/welcome")
        await expect(page.get_by_role("heading", name=f"{words['welcome']}, Ana")).to_be_visible()
        await assert_all_in(page, language, "/welcome")
        me = await (await context.request.get("/api/v1/me")).json()
        assert me["language"] == language
        await page.get_by_role("button", name=words["next"]).click()
        await page.get_by_role("heading", name=words["reminders"]).wait_for()
        await page.get_by_role("button", name=words["skip"], exact=True).click()
        await page.get_by_role("heading", name=words["next_infusion"]).wait_for()
        await assert_all_in(page, language, "/welcome, step 3")
        await page.get_by_role("button", name=words["skip_infusion"]).click()
        await page.get_by_role("link", name=words["to_today"]).click()

        # A check-in.
        await page.wait_for_url(lambda url: url.endswith("/"))
        await page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        await expect(page.get_by_role("heading", name=words["today"])).to_be_visible()
        await assert_all_in(page, language, "Today")
        await page.get_by_role("radio", name="7", exact=True).tap()
        await page.get_by_role("button", name=words["save"]).tap()
        await expect(page.locator("#save-status")).to_have_text(words["saved"])
        await assert_all_in(page, language, "Today, after a check-in")

        # A PHQ-9 with item 9 above 0: help at once, in the reader's language.
        await page.goto("/assess/phq9")
        crisis = page.locator("#crisis-now")
        for number in range(1, 9):
            await page.locator(
                "#progress-text", has_text=words["question"].format(n=number)
            ).wait_for()
            if number == 1:
                await assert_all_in(page, language, "PHQ-9")
            await page.get_by_role("radio", name=words["never"]).tap()
        await page.locator("#progress-text", has_text=words["question"].format(n=9)).wait_for()
        await page.get_by_role("radio", name=words["several"]).tap()
        await expect(crisis).to_be_visible()
        await expect(crisis.get_by_role("link", name=words["call_988"])).to_have_attribute(
            "href", "tel:988"
        )
        await expect(crisis.get_by_role("link", name=words["text_988"])).to_have_attribute(
            "href", words["sms_988"]
        )
        await expect(crisis.get_by_role("link", name=words["call_911"])).to_have_attribute(
            "href", "tel:911"
        )
        await expect(crisis.get_by_role("link", name=words["clinic"])).to_be_visible()
        await expect(crisis).to_contain_text(words["not_monitored"])
        await assert_all_in(page, language, "PHQ-9, item 9")
        await page.get_by_role("button", name=words["finish"]).tap()
        await expect(page.locator("#result-score")).to_have_text(words["score"])
        await assert_all_in(page, language, "PHQ-9, result")

        # History and Settings.
        await page.goto("/history")
        await expect(page.get_by_role("heading", name=words["history"], exact=True)).to_be_visible()
        await expect(page.locator("#history-entries > li")).to_have_count(2)
        await assert_all_in(page, language, "History")
        await page.goto("/settings")
        await expect(
            page.get_by_role("heading", name=words["settings"], exact=True)
        ).to_be_visible()
        await expect(page.locator("#account-email")).to_contain_text(words["signed_in_as"])
        await expect(page.locator("#language")).to_have_value(language)
        await assert_all_in(page, language, "Settings")
        await page.screenshot(path=str(tmp_path / f"settings-{language}.png"))

        # Settings changes it: every page in the other language from now on.
        other = "en" if language == "es" else "es"
        await page.locator("#language").select_option(other)
        await page.locator("#profile-form button[type=submit]").click()
        await expect(page.locator("html")).to_have_attribute("lang", other)
        await page.goto("/")
        await assert_all_in(page, other, "Today, after the change")
        assert (await (await context.request.get("/api/v1/me")).json())["language"] == other
    finally:
        await context.close()


# The clinician's pages and the clinic's, as a Spanish-reading clinician sees them.
CLINIC_PAGES = ("/clinic", "/clinic/members", "/clinic/schedule", "/clinic/requests")
DESK = {"width": 1280, "height": 900}


async def _spanish_patient(live: LiveServer) -> str:
    """A patient who reads Afterglow in Spanish, with a week of log and a share code."""
    patient: Any = httpx.AsyncClient(base_url=live.url, timeout=10)
    try:
        await patient.get("/healthz")
        patient.headers[security.CSRF_HEADER] = patient.cookies[security.CSRF_COOKIE]
        await register(patient, display_name="Lucía", language="es")
        await log_infusion(patient, days_ago(6))
        for n in range(1, 6):
            await log_checkin(patient, days_ago(n), 6, [("nausea", 2)])
        await log_assessment(patient, days_ago(8), "phq9", 16)
        await log_assessment(patient, days_ago(1), "phq9", 9, item9=1)
        return str((await make_code(patient))["code"])
    finally:
        await patient.aclose()


async def test_a_spanish_clinician_reads_a_summary_and_the_clinic_in_spanish(
    browser: Browser, live: LiveServer, database_url: str, settings: Settings
) -> None:
    email = unique_email("clinician")
    pool = await server_db.create_pool(database_url, settings, min_size=1, max_size=1)
    try:
        async with server_db.transaction(pool) as conn:
            doctor = await user_store.create_user(
                conn,
                email=email,
                role="clinician",
                password_hash=await passwords.hash_password(PASSWORD),
                display_name="Dra. Ruiz",
                timezone=ZONE,
                language="es",
            )
            await create_clinic(
                conn, "Clínica del Sol", doctor, ["admin", "prescriber", "nurse", "front_desk"]
            )
    finally:
        await pool.close()
    code = await _spanish_patient(live)
    # The browser says English: the clinician's own language wins once signed in.
    context = await browser.new_context(
        base_url=live.url, viewport=DESK, locale="en-US", timezone_id=ZONE
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    try:
        await page.goto("/login")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in", exact=True).click()
        await page.wait_for_url("**/clinician")
        await expect(page.get_by_role("heading", name="Pacientes", exact=True)).to_be_visible()
        await assert_all_in(page, "es", "/clinician, before a share")

        await page.goto("/clinician/accept")
        await assert_all_in(page, "es", "/clinician/accept")
        await page.get_by_label("Código para compartir").fill(code)
        await page.get_by_role("button", name="Abrir el resumen del paciente").click()
        await page.wait_for_url("**/clinician/patients/*")
        for heading in ("Alertas", "Señales", "De un vistazo", "Efectos secundarios"):
            await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        await expect(page.locator("#patient-language")).to_contain_text("español")
        item9 = page.locator(".flag-item").first
        await expect(item9).to_contain_text("Ítem 9 del PHQ-9")
        await expect(item9).to_contain_text("pensamientos de muerte o de hacerse daño")
        await assert_all_in(page, "es", "the summary")
        await page.goto("/clinician")
        await assert_all_in(page, "es", "/clinician, with the patient")

        for path in CLINIC_PAGES:
            await page.goto(path)
            await assert_all_in(page, "es", path)
    finally:
        await context.close()
