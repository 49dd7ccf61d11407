"""The domain's sentences about a patient (a flag's or an alert's detail, why there is no
baseline or verdict) in the reader's language.

The domain writes them in English, once, with the numbers in them (server/domain/flags.py,
monitoring.py, alerts.py, scores.py), and an alert's detail is stored that way. A clinician who
reads Spanish gets each known sentence, or each known part of a sentence the domain joins with
"; ", from the catalogue, the numbers and days carried over. A sentence this table does not know
stays as written: English, never lost (tests/unit/test_findings.py keeps the table and the
domain's wording together).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from server.i18n import DEFAULT, N_, current, gettext
from server.pwa.pages import SIDE_EFFECT_LABELS

NUM = r"\d+(?:\.\d+)?"
DAY = r"\d{4}-\d{2}-\d{2}"
NAMES = r"[a-z][a-z ,]*?"
# (the English as the domain writes it, with named groups; the catalogue's message, whose
# {names} are the groups). Longer sentences first: a shorter one may be a part of them.
SENTENCES: tuple[tuple[str, str], ...] = (
    (
        rf"PHQ-9 item 9 \(thoughts of death or self-harm\) answered (?P<answer>{NUM}) of 3 "
        rf"\(PHQ-9 total (?P<total>{NUM})\)\.",
        N_(
            "PHQ-9 item 9 (thoughts of death or self-harm) answered {answer} of 3 "
            "(PHQ-9 total {total})."
        ),
    ),
    (
        rf"PHQ-9 item 9 \(thoughts of death or self-harm\) answered (?P<answer>{NUM}) of 3\.",
        N_("PHQ-9 item 9 (thoughts of death or self-harm) answered {answer} of 3."),
    ),
    (
        r"The patient retracted this questionnaire; it is kept because it was answered\.",
        N_("The patient retracted this questionnaire; it is kept because it was answered."),
    ),
    (rf"PHQ-9 (?P<total>{NUM}):", N_("PHQ-9 {total}:")),
    (r"PHQ-9 after a response:", N_("PHQ-9 after a response:")),
    (
        rf"(?P<rise>{NUM}) above the baseline \((?P<baseline>{NUM})\)",
        N_("{rise} above the baseline ({baseline})"),
    ),
    (
        rf"(?P<rise>{NUM}) above the previous \((?P<previous>{NUM})\)",
        N_("{rise} above the previous ({previous})"),
    ),
    (
        rf"(?P<rise>{NUM}) above the lowest since treatment \((?P<lowest>{NUM})\)",
        N_("{rise} above the lowest since treatment ({lowest})"),
    ),
    (rf"(?P<total>{NUM}) is (?P<limit>{NUM}) or more", N_("{total} is {limit} or more")),
    (
        rf"Mood this week (?P<now>{NUM}), (?P<drop>{NUM}) below the 4 weeks before "
        rf"\((?P<then>{NUM})\)\.",
        N_("Mood this week {now}, {drop} below the 4 weeks before ({then})."),
    ),
    (r"No PHQ-9 yet during treatment\.", N_("No PHQ-9 yet during treatment.")),
    (
        rf"Last PHQ-9 on (?P<day>{DAY}), (?P<days>{NUM}) days ago\.",
        N_("Last PHQ-9 on {day}, {days} days ago."),
    ),
    (
        rf"Severe (?P<names>{NAMES}), a second day in a row\.",
        N_("Severe {names}, a second day in a row."),
    ),
    (
        rf"Severe (?P<names>{NAMES}), two or more days after an infusion\.",
        N_("Severe {names}, two or more days after an infusion."),
    ),
    (rf"Severe (?P<names>{NAMES})\.", N_("Severe {names}.")),
    (
        rf"No check-in for (?P<days>{NUM}) days \((?P<first>{DAY}) to (?P<last>{DAY}), "
        r"and counting\)\.",
        N_("No check-in for {days} days ({first} to {last}, and counting)."),
    ),
    (
        rf"No check-in for (?P<days>{NUM}) days \((?P<first>{DAY}) to (?P<last>{DAY})\)\.",
        N_("No check-in for {days} days ({first} to {last})."),
    ),
    # CMS159's 12-month window (server/domain/scores.py, remission_at_12_months).
    (
        rf"no PHQ-9 in the 12-month window \((?P<opens>{DAY}) to (?P<closes>{DAY})\): counted as "
        r"not in remission",
        N_("no PHQ-9 in the 12-month window ({opens} to {closes}): counted as not in remission"),
    ),
    (
        rf"PHQ-9 (?P<total>{NUM}) on (?P<day>{DAY}), in the 12-month window "
        rf"\((?P<opens>{DAY}) to (?P<closes>{DAY})\)",
        N_("PHQ-9 {total} on {day}, in the 12-month window ({opens} to {closes})"),
    ),
    (
        rf"no PHQ-9 yet in the 12-month window \((?P<opens>{DAY}) to (?P<closes>{DAY})\)",
        N_("no PHQ-9 yet in the 12-month window ({opens} to {closes})"),
    ),
    (
        rf"the 12-month window \((?P<opens>{DAY}) to (?P<closes>{DAY})\) has not opened yet",
        N_("the 12-month window ({opens} to {closes}) has not opened yet"),
    ),
    (
        rf"baseline PHQ-9 below (?P<limit>{NUM})",
        N_("baseline PHQ-9 below {limit}"),
    ),
    (
        rf"No PHQ-9 was taken before the first infusion \((?P<day>{DAY})\), so there is no "
        r"baseline\.",
        N_("No PHQ-9 was taken before the first infusion ({day}), so there is no baseline."),
    ),
    (
        rf"The last PHQ-9 before the first infusion \((?P<day>{DAY})\) was taken on "
        rf"(?P<taken>{DAY}), more than 30 days before it, so there is no baseline\.",
        N_(
            "The last PHQ-9 before the first infusion ({day}) was taken on {taken}, more than "
            "30 days before it, so there is no baseline."
        ),
    ),
)
# One pass over the text: every sentence as an alternative (its groups unnamed, as two
# alternatives may name the same), then the one that matched, again, for its values.
_FIND = re.compile(
    "|".join(
        f"(?P<s{i}>{re.sub(r'[(][?]P<[a-z]+>', '(?:', source)})"
        for i, (source, _) in enumerate(SENTENCES)
    )
)


def _names(names: str, language: str) -> str:
    """Side effects as the domain names them ("blurred vision, nausea"), in ``language``."""
    codes = [name.strip().replace(" ", "_") for name in names.split(",")]
    return ", ".join(
        gettext(language, SIDE_EFFECT_LABELS[code]).lower()
        if code in SIDE_EFFECT_LABELS
        else code.replace("_", " ")
        for code in codes
    )


def _replacer(language: str) -> Callable[[re.Match[str]], str]:
    def replace(found: re.Match[str]) -> str:
        index = next(i for i in range(len(SENTENCES)) if found.group(f"s{i}") is not None)
        inner = re.fullmatch(SENTENCES[index][0], found.group(0))
        assert inner is not None  # the same pattern matched it just now
        values = inner.groupdict()
        if "names" in values:
            values["names"] = _names(values["names"], language)
        return gettext(language, SENTENCES[index][1]).format(**values)

    return replace


def in_words(text: str | None, language: str | None = None) -> str:
    """``text`` (a domain sentence) in ``language``, the request's unless given."""
    reader = language or current()
    if not text or reader == DEFAULT:
        return text or ""
    return _FIND.sub(_replacer(reader), text)
