"""What the patient wrote, on the clinician's summary: notes and "Other" side effects, newest
first, each dated by days since the last infusion; and the next infusion still to come."""

from __future__ import annotations

from msgspec import structs

from server.domain.records import SideEffect
from server.domain.summary import next_infusion
from tests.helpers.records import at, checkin, day, infusion, summary


def test_notes_and_other_effects_newest_first_with_the_day_since_infusion() -> None:
    checkins = [
        structs.replace(checkin(2, 4), note="Before any session"),
        structs.replace(checkin(10, 6), note="  "),  # blank: not a note
        structs.replace(checkin(10, 7), note="Lighter today\nwent out"),
        structs.replace(
            checkin(12, 5),
            side_effects=(SideEffect("nausea", 2), SideEffect("other", 1, "ringing ears")),
        ),
        structs.replace(checkin(13, 6), note="Day 0 of the second", side_effects=()),
        checkin(14, 6),  # no words: not listed
    ]
    result = summary(checkins=checkins, infusions=[infusion(9), infusion(13)], first=0, last=20)
    shown = [(n.day, n.days_since_infusion, n.mood, n.note, n.other) for n in result.notes]
    assert shown == [
        (day(13), 0, 6, "Day 0 of the second", None),
        (day(12), 3, 5, None, "ringing ears"),
        (day(10), 1, 7, "Lighter today\nwent out", None),
        (day(2), None, 4, "Before any session", None),
    ]


def test_notes_stay_inside_the_range() -> None:
    checkins = [structs.replace(checkin(n, 5), note=f"day {n}") for n in (3, 8, 25)]
    result = summary(checkins=checkins, first=5, last=20)
    assert [n.note for n in result.notes] == ["day 8"]


def test_the_next_infusion_is_the_first_planned_one_still_to_come() -> None:
    now = at(20, 12)
    later, soon = infusion(30, "planned"), infusion(22, "planned")
    others = [infusion(19, "planned"), infusion(21, "cancelled"), infusion(25, "completed")]
    assert next_infusion([later, *others, soon], now) == soon
    assert next_infusion(others, now) is None
