"""A person's language (issue 18): chosen at sign-up (the browser's by default), changed in
Settings, in /me; every page in its reader's language, signed-out pages in the browser's."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.helpers.accounts import PASSWORD, make_clinician, register, unique_email
from tests.helpers.sharing import share

NAVIGATE = {"sec-fetch-mode": "navigate"}
SPANISH_BROWSER = {"accept-language": "es-US,es;q=0.9,en;q=0.8"}


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="([a-z]+)">', page)
    assert found, page[:200]
    return found.group(1)


async def test_the_language_is_chosen_at_sign_up_and_changed_in_settings(
    client_factory: Any,
) -> None:
    client = client_factory()
    me = await register(client, language="es")
    assert me["language"] == "es"
    assert (await client.get("/api/v1/me")).json()["language"] == "es"
    changed = await client.patch("/api/v1/me", json={"language": "en"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["language"] == "en"
    assert (await client.get("/api/v1/me")).json()["language"] == "en"
    await client.patch("/api/v1/me", json={"language": "es"})
    again = await client_factory().post(
        "/api/v1/auth/login", json={"email": me["email"], "password": PASSWORD}
    )
    assert again.status_code == 200, again.text
    assert again.json()["language"] == "es"  # signing in answers with the account's own


async def test_sign_up_takes_the_browsers_language_by_default(client_factory: Any) -> None:
    client = client_factory()
    response = await client.post(
        "/api/v1/auth/register",
        json={
            "email": unique_email(),
            "password": PASSWORD,
            "display_name": "Ana",
            "timezone": "America/New_York",
        },
        headers=SPANISH_BROWSER,
    )
    assert response.status_code == 201, response.text
    assert response.json()["language"] == "es"
    assert (await register(client_factory()))["language"] == "en"  # no Accept-Language


async def test_any_other_language_is_refused_naming_the_field(
    client_factory: Any, patient: Any
) -> None:
    for bad in ("fr", "ES", "", 1, None):
        body = {
            "email": unique_email(),
            "password": PASSWORD,
            "display_name": "Ana",
            "timezone": "America/New_York",
            "language": bad,
        }
        response = await client_factory().post("/api/v1/auth/register", json=body)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["field"] == "language", response.text
        response = await patient.patch("/api/v1/me", json={"language": bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["field"] == "language", response.text
    assert (await patient.get("/api/v1/me")).json()["language"] == "en"


async def test_every_page_is_in_its_readers_language(client_factory: Any) -> None:
    spanish = client_factory()
    await register(spanish, language="es")
    for path in ("/", "/assess/phq9", "/history", "/settings", "/infusions", "/crisis"):
        response = await spanish.get(path, headers=NAVIGATE)
        assert response.status_code == 200, path
        assert html_lang(response.text) == "es", path
        assert response.headers["content-language"] == "es"
    today = (await spanish.get("/", headers=NAVIGATE)).text
    assert "¿Cómo estás hoy?" in today and "How are you today?" not in today
    phq9 = (await spanish.get("/assess/phq9", headers=NAVIGATE)).text
    # The published Spanish PHQ-9 for the US, verbatim; answers keep their values.
    assert "¿qué tan seguido ha tenido molestias debido a los siguientes problemas?" in phq9
    assert 'value="3"><span>Casi todos los días</span>' in phq9
    assert "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera" in phq9
    crisis = (await spanish.get("/crisis", headers=NAVIGATE)).text
    assert "Llama al 988 y marca 2" in crisis and 'href="sms:988?body=AYUDA"' in crisis
    assert "Nadie vigila esta app las 24 horas" in crisis


async def test_signed_out_pages_follow_the_browser(client_factory: Any) -> None:
    visitor = client_factory()
    for path in ("/login", "/signup", "/crisis", "/offline"):
        spanish = await visitor.get(path, headers={**NAVIGATE, **SPANISH_BROWSER})
        english = await visitor.get(path, headers={**NAVIGATE, "accept-language": "en-US"})
        assert html_lang(spanish.text) == "es", path
        assert html_lang(english.text) == "en", path
        assert spanish.text != english.text, path
    french = await visitor.get("/crisis", headers={**NAVIGATE, "accept-language": "fr, es;q=0.1"})
    assert html_lang(french.text) == "es"  # the best of ours the browser accepts
    nothing = await visitor.get("/crisis", headers={**NAVIGATE, "accept-language": "fr"})
    assert html_lang(nothing.text) == "en"


async def test_a_clinicians_pages_follow_the_clinicians_language(
    client_factory: Any, pool: Any
) -> None:
    clinician = client_factory()
    await make_clinician(pool, clinician)
    page = await clinician.get("/clinician", headers={**NAVIGATE, **SPANISH_BROWSER})
    assert page.status_code == 200
    assert html_lang(page.text) == "en"


async def test_the_browsers_catalogue(client_factory: Any) -> None:
    client = client_factory()
    spanish = await client.get("/i18n/es.json")
    assert spanish.status_code == 200
    messages = spanish.json()
    assert messages["Question {n} of {total}"] == "Pregunta {n} de {total}"
    assert "Choose a new {sender} password" not in messages  # the server's own stay there
    assert (await client.get("/i18n/en.json")).json() == {}
    assert (await client.get("/i18n/fr.json")).status_code == 404


async def test_a_clinician_reads_a_spanish_speaking_patients_summary_in_english(
    client_factory: Any, clinician: Any
) -> None:
    spanish = client_factory()
    me = await register(spanish, language="es")
    await share(spanish, clinician)
    page = await clinician.get(f"/clinician/patients/{me['id']}", headers=SPANISH_BROWSER)
    assert page.status_code == 200, page.text
    assert html_lang(page.text) == "en"
    assert "The patient reads Afterglow in Spanish." in page.text
    assert "Necesito ayuda" not in page.text
    # A Spanish-speaking clinician reads the same note in Spanish.
    assert (await clinician.patch("/api/v1/me", json={"language": "es"})).status_code == 200
    page = await clinician.get(f"/clinician/patients/{me['id']}")
    assert html_lang(page.text) == "es"
    assert "El paciente usa Afterglow en español." in page.text


async def test_problem_details_are_in_the_readers_language(client_factory: Any) -> None:
    spanish = client_factory()
    await register(spanish, language="es")
    response = await spanish.patch("/api/v1/me", json={"timezone": "Mars/Olympus"})
    assert response.status_code == 400
    assert response.json()["field"] == "timezone"
    assert response.json()["detail"].startswith("No es un nombre de zona horaria IANA")
    # A write of one statement opens its session with that statement (server/db.py): a body
    # refused before it is read in the browser's language, as the phone sends it.
    missing = await spanish.put(
        f"/api/v1/checkins/{uuid.uuid4()}",
        json={"recorded_at": "2026-01-01T10:00:00+00:00"},
        headers=SPANISH_BROWSER,
    )
    assert missing.status_code == 400
    assert missing.json()["field"] == "mood"
    assert missing.json()["errors"][0]["detail"] == "Este campo es obligatorio."
    visitor = client_factory()
    login = await visitor.post(
        "/api/v1/auth/login",
        json={"email": unique_email(), "password": "wrong password"},
        headers=SPANISH_BROWSER,
    )
    assert login.status_code == 401
    assert login.json()["detail"] == "El correo o la contraseña no son correctos."
    english = await client_factory().post(
        "/api/v1/auth/login", json={"email": unique_email(), "password": "wrong password"}
    )
    assert english.json()["detail"] == "Email or password is incorrect."


async def test_a_questionnaire_keeps_the_language_it_was_answered_in(
    client_factory: Any,
) -> None:
    spanish = client_factory()
    me = await register(spanish, language="es")
    answers = [1, 0, 2, 0, 1, 0, 0, 0, 1]
    taken = "2026-01-05T10:00:00+00:00"
    ids = {}
    for language in ("es", "en"):
        ids[language] = str(uuid.uuid4())
        body = {"instrument": "phq9", "answers": answers, "taken_at": taken, "language": language}
        stored = await spanish.put(f"/api/v1/assessments/{ids[language]}", json=body)
        assert stored.status_code in (200, 201), stored.text
        assert stored.json()["total"] == 5  # the same score in either language
    bad = {"instrument": "phq9", "answers": answers, "taken_at": taken, "language": "fr"}
    refused = await spanish.put(f"/api/v1/assessments/{uuid.uuid4()}", json=bad)
    assert refused.status_code in (400, 422) and refused.json()["field"] == "language"

    export = await spanish.get(
        f"/api/v1/patients/{me['id']}/export.fhir?from=2026-01-01&to=2026-01-31"
    )
    assert export.status_code == 200, export.text
    responses = {
        e["resource"]["id"]: e["resource"]
        for e in export.json()["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    }
    spanish_response, english_response = responses[ids["es"]], responses[ids["en"]]
    assert spanish_response["language"] == "es-US"
    assert english_response["language"] == "en-US"
    assert spanish_response["item"][0]["text"] == "Poco interés o placer en hacer cosas"
    assert english_response["item"][0]["text"] == "Little interest or pleasure in doing things"
    codes = [[a["valueCoding"]["code"] for a in i["answer"]] for i in spanish_response["item"]]
    assert codes == [
        [a["valueCoding"]["code"] for a in i["answer"]] for i in english_response["item"]
    ]


async def test_csv_headings_follow_the_reader(client_factory: Any, clinician: Any) -> None:
    spanish = client_factory()
    me = await register(spanish, language="es")
    await share(spanish, clinician)
    url = f"/api/v1/patients/{me['id']}/export.csv"
    own = await spanish.get(url)
    assert own.status_code == 200, own.text
    assert own.text.splitlines()[0].startswith("tipo,id,día_local,hora,ánimo,")
    theirs = await clinician.get(url)
    assert theirs.text.splitlines()[0].startswith("kind,id,local_day,time,mood,")


async def test_the_manifest_is_in_the_readers_language(client_factory: Any) -> None:
    """The installed app's description and shortcuts: ``?lang=``, else the browser's language;
    the name, the start URL and the icons are the same in each."""
    client = client_factory()
    english = await client.get("/manifest.webmanifest")
    spanish = await client.get("/manifest.webmanifest", headers={"accept-language": "es-US,es"})
    asked = await client.get(
        "/manifest.webmanifest?lang=en", headers={"accept-language": "es-US,es"}
    )
    assert english.status_code == spanish.status_code == asked.status_code == 200
    en, es = english.json(), spanish.json()
    assert (en["lang"], es["lang"], asked.json()["lang"]) == ("en", "es", "en")
    assert spanish.headers["content-language"] == "es"
    assert es["description"].startswith("Registra tu ánimo")
    assert [s["name"] for s in es["shortcuts"]] == ["Registrarme", "PHQ-9", "Ayuda ahora"]
    for same in ("name", "short_name", "id", "start_url", "scope", "icons"):
        assert en[same] == es[same]


async def test_a_refusal_for_too_many_attempts_says_the_wait_in_the_readers_language(
    client_factory: Any,
) -> None:
    client = client_factory("127.9.8.7")
    for _ in range(20):
        response = await client.post(
            "/api/v1/auth/login", json={"email": unique_email(), "password": "nope nope nope"}
        )
        assert response.status_code == 401
    attempt = {"email": unique_email(), "password": "nope nope nope"}
    english = await client.post("/api/v1/auth/login", json=attempt)
    spanish = await client.post("/api/v1/auth/login", json=attempt, headers=SPANISH_BROWSER)
    assert english.status_code == spanish.status_code == 429
    assert re.fullmatch(
        r"Too many failed sign-ins\. Try again in \d+ (seconds?|minutes?)\.",
        english.json()["detail"],
    ), english.json()["detail"]
    assert re.fullmatch(
        r"Demasiados intentos fallidos de inicio de sesión\. "
        r"Vuelve a intentarlo en \d+ (segundos?|minutos?)\.",
        spanish.json()["detail"],
    ), spanish.json()["detail"]
