"""PHQ-9 and GAD-7: item texts, answer options, scoring and severity bands.

Texts and cut-offs as published by Kroenke, Spitzer & Williams (PHQ-9, J Gen Intern Med 2001)
and Spitzer et al. (GAD-7, Arch Intern Med 2006); both are free to use without permission, and
both are shown with the attribution their authors ask for (``ATTRIBUTION``).

PHQ-9 item 10 (how difficult the problems have made daily life, LOINC 69722-7) is asked after
the nine scored items. It is optional and never scored: a PHQ-9 of nine answers stays valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

import msgspec

from server.domain.checkins import AwareDateTime, check_moment
from server.domain.records import InstrumentId
from server.errors import InvalidField
from server.i18n import Language

Answer = Annotated[int, msgspec.Meta(ge=0, le=3)]


class Item(msgspec.Struct, frozen=True):
    number: int
    text: str


class Option(msgspec.Struct, frozen=True):
    value: int
    label: str


class Band(msgspec.Struct, frozen=True):
    id: str
    label: str
    min: int
    max: int


class Difficulty(msgspec.Struct, frozen=True, kw_only=True):
    """An unscored closing question (PHQ-9 item 10), sent as ``difficulty`` beside ``answers``."""

    text: str
    options: tuple[Option, ...]
    loinc: str


class Instrument(msgspec.Struct, frozen=True, kw_only=True):
    id: InstrumentId
    name: str
    title: str
    question: str
    items: tuple[Item, ...]
    options: tuple[Option, ...]
    bands: tuple[Band, ...]
    max_total: int
    loinc_panel: str
    loinc_total: str
    attribution: str
    difficulty: Difficulty | None = None


class Score(msgspec.Struct, frozen=True):
    total: int
    band: Band


# The same four answers for every item of both questionnaires.
OPTIONS = (
    Option(0, "Not at all"),
    Option(1, "Several days"),
    Option(2, "More than half the days"),
    Option(3, "Nearly every day"),
)

ATTRIBUTION = (
    "PHQ-9 and GAD-7: developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and "
    "colleagues, with an educational grant from Pfizer Inc. No permission required to reproduce, "
    "translate, display or distribute."
)

PHQ9_DIFFICULTY = Difficulty(
    text=(
        "If you checked off any problems, how difficult have these problems made it for you to "
        "do your work, take care of things at home, or get along with other people?"
    ),
    options=(
        Option(0, "Not difficult at all"),
        Option(1, "Somewhat difficult"),
        Option(2, "Very difficult"),
        Option(3, "Extremely difficult"),
    ),
    loinc="69722-7",
)

PHQ9 = Instrument(
    id="phq9",
    name="PHQ-9",
    title="Patient Health Questionnaire (PHQ-9)",
    question=(
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    ),
    items=tuple(
        Item(number, text)
        for number, text in enumerate(
            (
                "Little interest or pleasure in doing things",
                "Feeling down, depressed, or hopeless",
                "Trouble falling or staying asleep, or sleeping too much",
                "Feeling tired or having little energy",
                "Poor appetite or overeating",
                "Feeling bad about yourself — or that you are a failure or have let yourself "
                "or your family down",
                "Trouble concentrating on things, such as reading the newspaper or watching "
                "television",
                "Moving or speaking so slowly that other people could have noticed? Or the "
                "opposite — being so fidgety or restless that you have been moving around a lot "
                "more than usual",
                "Thoughts that you would be better off dead or of hurting yourself in some way",
            ),
            start=1,
        )
    ),
    options=OPTIONS,
    bands=(
        Band("minimal", "Minimal", 0, 4),
        Band("mild", "Mild", 5, 9),
        Band("moderate", "Moderate", 10, 14),
        Band("moderately_severe", "Moderately severe", 15, 19),
        Band("severe", "Severe", 20, 27),
    ),
    max_total=27,
    loinc_panel="44249-1",
    loinc_total="44261-6",
    attribution=ATTRIBUTION,
    difficulty=PHQ9_DIFFICULTY,
)

GAD7 = Instrument(
    id="gad7",
    name="GAD-7",
    title="Generalized Anxiety Disorder scale (GAD-7)",
    question=("Over the last 2 weeks, how often have you been bothered by the following problems?"),
    items=tuple(
        Item(number, text)
        for number, text in enumerate(
            (
                "Feeling nervous, anxious, or on edge",
                "Not being able to stop or control worrying",
                "Worrying too much about different things",
                "Trouble relaxing",
                "Being so restless that it is hard to sit still",
                "Becoming easily annoyed or irritable",
                "Feeling afraid, as if something awful might happen",
            ),
            start=1,
        )
    ),
    options=OPTIONS,
    bands=(
        Band("minimal", "Minimal", 0, 4),
        Band("mild", "Mild", 5, 9),
        Band("moderate", "Moderate", 10, 14),
        Band("severe", "Severe", 15, 21),
    ),
    max_total=21,
    loinc_panel="69737-5",
    loinc_total="70274-6",
    attribution=ATTRIBUTION,
)

INSTRUMENTS: dict[str, Instrument] = {PHQ9.id: PHQ9, GAD7.id: GAD7}

# The published Spanish versions for the United States, verbatim: "PHQ-9 Spanish for the USA"
# and "GAD-7 Spanish for the USA" (Pfizer's PHQ screeners, phqscreeners.com: the same
# free-to-use source as the English, same attribution). They say "usted" where the rest of the
# app says "tú": a validated instrument keeps its wording. The wording was checked against
# copies of those forms in public projects (e.g. the Spanish items in Frontiers in Psychology
# 2025, doi 10.3389/fpsyg.2025.1634804, table 2, in its "usted" form). Band names are ours.
# Answers and scores do not depend on the language: only the words shown change.
SPANISH: dict[str, str] = {
    "Patient Health Questionnaire (PHQ-9)": "Cuestionario sobre la salud del paciente (PHQ-9)",
    "Generalized Anxiety Disorder scale (GAD-7)": (
        "Escala del trastorno de ansiedad generalizada (GAD-7)"
    ),
    PHQ9.question: (
        "Durante las últimas 2 semanas, ¿qué tan seguido ha tenido molestias debido a los "
        "siguientes problemas?"
    ),
    GAD7.question: (
        "Durante las últimas 2 semanas, ¿qué tan seguido ha tenido molestias debido a los "
        "siguientes problemas?"
    ),
    "Little interest or pleasure in doing things": "Poco interés o placer en hacer cosas",
    "Feeling down, depressed, or hopeless": (
        "Se ha sentido decaído(a), deprimido(a) o sin esperanzas"
    ),
    "Trouble falling or staying asleep, or sleeping too much": (
        "Ha tenido dificultad para quedarse o permanecer dormido(a), o ha dormido demasiado"
    ),
    "Feeling tired or having little energy": "Se ha sentido cansado(a) o con poca energía",
    "Poor appetite or overeating": "Sin apetito o ha comido en exceso",
    PHQ9.items[5].text: (
        "Se ha sentido mal con usted mismo(a) – o que es un fracaso o que ha quedado mal con "
        "usted mismo(a) o con su familia"
    ),
    PHQ9.items[6].text: (
        "Ha tenido dificultad para concentrarse en ciertas actividades, tales como leer el "
        "periódico o ver la televisión"
    ),
    PHQ9.items[7].text: (
        "¿Se ha movido o hablado tan lento que otras personas podrían haberlo notado? o lo "
        "contrario – muy inquieto(a) o agitado(a) que ha estado moviéndose mucho más de lo normal"
    ),
    PHQ9.items[8].text: (
        "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera"
    ),
    PHQ9_DIFFICULTY.text: (
        "Si marcó cualquiera de los problemas, ¿qué tanta dificultad le han dado estos problemas "
        "para hacer su trabajo, encargarse de las tareas del hogar, o llevarse bien con otras "
        "personas?"
    ),
    "Not difficult at all": "No ha sido difícil",
    "Somewhat difficult": "Un poco difícil",
    "Very difficult": "Muy difícil",
    "Extremely difficult": "Extremadamente difícil",
    "Feeling nervous, anxious, or on edge": (
        "Se ha sentido nervioso(a), ansioso(a) o con los nervios de punta"
    ),
    "Not being able to stop or control worrying": (
        "No ha sido capaz de parar o controlar su preocupación"
    ),
    "Worrying too much about different things": "Se ha preocupado demasiado por motivos diferentes",
    "Trouble relaxing": "Ha tenido dificultad para relajarse",
    "Being so restless that it is hard to sit still": (
        "Se ha sentido tan inquieto(a) que no ha podido quedarse quieto(a)"
    ),
    "Becoming easily annoyed or irritable": "Se ha molestado o irritado fácilmente",
    "Feeling afraid, as if something awful might happen": (
        "Ha tenido miedo de que algo terrible fuera a pasar"
    ),
    "Not at all": "Ningún día",
    "Several days": "Varios días",
    "More than half the days": "Más de la mitad de los días",
    "Nearly every day": "Casi todos los días",
    "Minimal": "Mínima",
    "Mild": "Leve",
    "Moderate": "Moderada",
    "Moderately severe": "Moderadamente grave",
    "Severe": "Grave",
    ATTRIBUTION: (
        "PHQ-9 y GAD-7: desarrollados por los Dres. Robert L. Spitzer, Janet B.W. Williams, Kurt "
        "Kroenke y colegas, con una subvención educativa de Pfizer Inc. No se requiere permiso "
        "para reproducirlos, traducirlos, presentarlos o distribuirlos."
    ),
}


def in_language(instrument: Instrument, language: str) -> Instrument:
    """``instrument`` as a person reading ``language`` sees it: the published wording in that
    language (English for any other), the same ids, values and cut-offs."""
    if language != "es":
        return instrument

    def say(text: str) -> str:
        return SPANISH.get(text, text)

    def options(found: tuple[Option, ...]) -> tuple[Option, ...]:
        return tuple(Option(o.value, say(o.label)) for o in found)

    difficulty = instrument.difficulty
    return msgspec.structs.replace(
        instrument,
        title=say(instrument.title),
        question=say(instrument.question),
        items=tuple(Item(i.number, say(i.text)) for i in instrument.items),
        options=options(instrument.options),
        bands=tuple(Band(b.id, say(b.label), b.min, b.max) for b in instrument.bands),
        attribution=say(instrument.attribution),
        difficulty=None
        if difficulty is None
        else msgspec.structs.replace(
            difficulty, text=say(difficulty.text), options=options(difficulty.options)
        ),
    )


# PHQ-9 item 9 asks about thoughts of death or self-harm; any answer above 0 needs a response.
PHQ9_ITEM9_LOINC = "44260-8"
SAFETY_ITEM = 9


def band_for(instrument: Instrument, total: int) -> Band:
    for band in instrument.bands:
        if band.min <= total <= band.max:
            return band
    raise ValueError(f"{total} is outside 0–{instrument.max_total} for {instrument.name}")


def check_answers(instrument: Instrument, answers: Sequence[int], field: str = "answers") -> None:
    count = len(instrument.items)
    if len(answers) != count:
        raise InvalidField(
            field,
            f"{instrument.name} has {count} questions: send {count} answers, not {len(answers)}.",
        )
    for index, answer in enumerate(answers):
        if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer <= 3:
            raise InvalidField(f"{field}[{index}]", "Each answer is 0, 1, 2 or 3.")


def score(instrument: Instrument, answers: Sequence[int]) -> Score:
    """Total and severity band; raises InvalidField for a wrong number or range of answers."""
    check_answers(instrument, answers)
    total = sum(answers)
    return Score(total=total, band=band_for(instrument, total))


def needs_safety_response(instrument_id: str, answers: Sequence[int]) -> bool:
    """PHQ-9 item 9 above 0: the patient is shown crisis resources at once."""
    return instrument_id == PHQ9.id and len(answers) >= SAFETY_ITEM and answers[SAFETY_ITEM - 1] > 0


class AssessmentContent(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """What a client sends for a questionnaire (PUT body and sync ``data``).

    Without ``difficulty`` it encodes as before item 10 existed (``omit_defaults``), so the
    version of a questionnaire stored or queued offline then is unchanged (domain/sync.py)."""

    instrument: InstrumentId
    answers: Annotated[list[Answer], msgspec.Meta(max_length=50)]
    taken_at: AwareDateTime
    difficulty: Answer | None = None  # PHQ-9 item 10, never scored
    language: Language | None = None  # the published version it was shown in (issue 18)


def check_assessment(content: AssessmentContent, now: datetime) -> tuple[AssessmentContent, Score]:
    """Canonical content (UTC time) and its score, or InvalidField."""
    instrument = INSTRUMENTS[content.instrument]
    result = score(instrument, content.answers)
    if content.difficulty is not None and instrument.difficulty is None:
        raise InvalidField(
            "difficulty", f"{instrument.name} has no difficulty question: leave it out."
        )
    canonical = AssessmentContent(
        instrument=content.instrument,
        answers=list(content.answers),
        taken_at=check_moment(content.taken_at, now, "taken_at"),
        difficulty=content.difficulty,
        language=content.language,
    )
    return canonical, result
