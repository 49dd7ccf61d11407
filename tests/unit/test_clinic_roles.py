"""The roles table and the clinic's rules, without a database (server/domain/clinic.py)."""

from __future__ import annotations

import pytest

from server.domain.clinic import (
    RIGHTS,
    check_roles,
    crisis_lines,
    may,
    rights_of,
)
from server.errors import InvalidField


def test_who_sees_what_is_the_issues_table() -> None:
    clinical = {"clinical_read", "chair_read", "chair_write", "alerts", "medication_answer"}
    assert clinical <= RIGHTS["prescriber"] and clinical <= RIGHTS["nurse"]
    assert not clinical & RIGHTS["front_desk"]
    assert RIGHTS["front_desk"] == {
        "schedule_read",
        "schedule_write",
        "appointment_read",
        "appointment_answer",
    }
    assert RIGHTS["admin"] == {"schedule_read", "members_read", "members_write"}
    assert not any("members_write" in RIGHTS[r] for r in ("prescriber", "nurse", "front_desk"))


def test_several_roles_add_up() -> None:
    owner = rights_of(["admin", "prescriber"])
    assert may(["admin", "prescriber"], "clinical_read") and "members_write" in owner
    assert not may(["admin"], "clinical_read")
    assert not may([], "schedule_read")


@pytest.mark.parametrize("raw", [[], ["boss"], ["nurse", "janitor"]])
def test_roles_must_be_known(raw: list[str]) -> None:
    with pytest.raises(InvalidField) as refused:
        check_roles(raw)
    assert refused.value.field == "roles"


def test_roles_come_back_in_table_order_once() -> None:
    assert check_roles(["nurse", "admin", "nurse"]) == ["admin", "nurse"]


def test_crisis_lines_follow_the_country_and_end_with_the_clinic() -> None:
    us = [line.href for line in crisis_lines("US", "+1 555 0100", None)]
    assert us == ["tel:988", "tel:911", "tel:+15550100"]
    assert [line.href for line in crisis_lines("CA", None, None)] == ["tel:988", "tel:911"]
    uk = [line.href for line in crisis_lines("GB", "020 7946 0000", None)]
    assert uk == ["tel:116123", "tel:111", "tel:999", "tel:02079460000"]
    elsewhere = crisis_lines("other", "+49 30 1234", "112")
    assert [line.href for line in elsewhere] == ["tel:112", "tel:+49301234"]
