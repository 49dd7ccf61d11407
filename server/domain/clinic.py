"""The clinic: roles and what each may do (the one table), clinic settings, crisis resources by
country, and requests to the clinic.

``RIGHTS`` is the table the access check (server/services/access.py) enforces, the README
lists and tests/api/test_access_matrix.py walks. migrations/0023 holds the part the database
enforces (clinic_role_rights) and a test keeps the two equal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, time
from typing import Literal, get_args
from uuid import UUID

import msgspec

from server.errors import InvalidField
from server.i18n import DEFAULT, N_, gettext

ClinicRole = Literal["admin", "prescriber", "nurse", "front_desk"]
ROLES: tuple[ClinicRole, ...] = get_args(ClinicRole)
ROLE_LABELS: dict[ClinicRole, str] = {
    "admin": N_("Admin"),
    "prescriber": N_("Prescriber"),
    "nurse": N_("Nurse"),
    "front_desk": N_("Front desk"),
}

Right = Literal[
    "clinical_read",  # mood, scores, answers, notes, summary, exports
    "chair_read",  # infusion records with their notes
    "chair_write",
    "plan_write",  # treatment plans (courses): the prescriber's alone (issue 16)
    "schedule_read",
    "schedule_write",
    "appointment_read",  # requests for a follow-up appointment
    "appointment_answer",
    "medication_read",  # concerns about medication
    "medication_answer",
    "alerts",  # receive and acknowledge
    "members_read",  # members and settings
    "members_write",
]

_CLINICAL: frozenset[Right] = frozenset(
    {
        "clinical_read",
        "chair_read",
        "chair_write",
        "schedule_read",
        "schedule_write",
        "appointment_read",
        "appointment_answer",
        "medication_read",
        "medication_answer",
        "alerts",
    }
)
# Who sees what (issue 15). A member holding several roles has the union.
RIGHTS: dict[ClinicRole, frozenset[Right]] = {
    "prescriber": _CLINICAL | {"plan_write"},
    "nurse": _CLINICAL,
    "front_desk": frozenset(
        {"schedule_read", "schedule_write", "appointment_read", "appointment_answer"}
    ),
    "admin": frozenset({"schedule_read", "members_read", "members_write"}),
}
# A clinician with a share of their own (a single doctor, `create-clinician`) is that patient's
# prescriber.
SOLE_CLINICIAN: tuple[ClinicRole, ...] = ("prescriber",)

# The database's coarser rights (migrations/0023, clinic_role_rights), each as the domain right
# that implies it.
DATABASE_RIGHTS: dict[str, Right] = {
    "clinical": "clinical_read",
    "chair": "chair_read",
    "chair_write": "chair_write",
    "plan_write": "plan_write",
    "schedule": "schedule_read",
    "schedule_write": "schedule_write",
    "alerts": "alerts",
    "appointment": "appointment_read",
    "medication": "medication_read",
    "members": "members_write",
}


def rights_of(roles: Iterable[str]) -> frozenset[Right]:
    found: set[Right] = set()
    for role in roles:
        found |= RIGHTS.get(role, frozenset())  # type: ignore[call-overload]
    return frozenset(found)


def may(roles: Iterable[str], right: Right) -> bool:
    return right in rights_of(roles)


def check_roles(raw: Iterable[str], field: str = "roles") -> list[ClinicRole]:
    chosen = [r for r in ROLES if r in set(raw)]
    unknown = set(raw) - set(ROLES)
    if unknown or not chosen:
        raise InvalidField(field, "Choose one or more of: " + ", ".join(ROLES) + ".")
    return chosen


def roles_label(roles: Iterable[str], language: str = DEFAULT) -> str:
    """The roles in words, in ``language``."""
    return ", ".join(
        gettext(language, ROLE_LABELS.get(r, r))  # type: ignore[call-overload]
        for r in roles
    )


# --- settings -------------------------------------------------------------------------------

Country = Literal["US", "CA", "GB", "other"]
COUNTRY_LABELS: dict[Country, str] = {
    "US": N_("United States"),
    "CA": N_("Canada"),
    "GB": N_("United Kingdom"),
    "other": N_("Another country"),
}
_DIALABLE = re.compile(r"[^0-9+]")
NAME_MAX = 120
PHONE_MAX = 40
INSTRUCTIONS_MAX = 4000
# Intranasal esketamine comes in 28 mg devices: a dose is one, two or three of them.
ESKETAMINE_DOSES: tuple[int, ...] = (28, 56, 84)
# The defaults of what the chair record is checked against (issue 16): IV and IM racemic ketamine
# 0.1-1.0 mg/kg; a warning on dosing above 140/90 mmHg.
KETAMINE_MG_PER_KG: tuple[float, float] = (0.1, 1.0)
BP_THRESHOLD: tuple[int, int] = (140, 90)
KETAMINE_MG_PER_KG_BOUNDS = (0.05, 3.0)
BP_SYSTOLIC_BOUNDS = (90, 220)
BP_DIASTOLIC_BOUNDS = (50, 140)


class ClinicSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What an admin sets; None: the environment's default where there is one."""

    name: str
    phone: str | None = None
    country: Country = "US"
    emergency_number: str | None = None  # "other" countries: the local emergency number
    pre_session_instructions: str | None = None  # in English
    pre_session_instructions_es: str | None = None  # in Spanish (issue 18)
    checkin_time: time | None = None
    day_before_reminder: bool = True
    two_hours_reminder: bool = True
    evening_after_reminder: bool = True
    on_call_email: str | None = None
    # What the chair record is checked against (issue 16): dose limits and the blood pressure
    # above which dosing gets a warning.
    ketamine_min_mg_per_kg: float = KETAMINE_MG_PER_KG[0]
    ketamine_max_mg_per_kg: float = KETAMINE_MG_PER_KG[1]
    esketamine_doses: tuple[int, ...] = ESKETAMINE_DOSES
    bp_systolic_threshold: int = BP_THRESHOLD[0]
    bp_diastolic_threshold: int = BP_THRESHOLD[1]


def instructions_in(settings: ClinicSettings, language: str) -> str | None:
    """The clinic's pre-session instructions as a patient reading ``language`` gets them: in
    their language, else in the other one the clinic wrote (better than none before a session)."""
    english, spanish = settings.pre_session_instructions, settings.pre_session_instructions_es
    return (spanish or english) if language == "es" else (english or spanish)


class Clinic(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    settings: ClinicSettings
    created_at: datetime


def check_phone(raw: str | None, field: str) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    if len(value) > PHONE_MAX or len(_DIALABLE.sub("", value)) < 3:
        raise InvalidField(field, "Enter a phone number with at least three digits.")
    return value


def check_name(raw: str, field: str = "name") -> str:
    value = " ".join(raw.split())
    if not value or len(value) > NAME_MAX:
        raise InvalidField(field, f"Enter a name of 1 to {NAME_MAX} characters.")
    return value


def check_instructions(raw: str | None, field: str = "pre_session_instructions") -> str | None:
    value = (raw or "").strip()
    if len(value) > INSTRUCTIONS_MAX:
        raise InvalidField(field, f"Use at most {INSTRUCTIONS_MAX} characters.")
    return value or None


def check_limits(
    ketamine_min: float,
    ketamine_max: float,
    esketamine_doses: Iterable[int],
    bp_systolic: int,
    bp_diastolic: int,
) -> tuple[float, float, tuple[int, ...], int, int]:
    """The clinic's dose limits and blood-pressure threshold, each refused naming its field."""
    low, high = KETAMINE_MG_PER_KG_BOUNDS
    if not low <= ketamine_min <= high:
        raise InvalidField("ketamine_min_mg_per_kg", f"Enter {low} to {high} mg/kg.")
    if not ketamine_min <= ketamine_max <= high:
        raise InvalidField(
            "ketamine_max_mg_per_kg",
            f"Enter {ketamine_min} to {high} mg/kg (not below the lowest).",
        )
    doses = tuple(sorted(set(esketamine_doses)))
    if not doses or not set(doses) <= set(ESKETAMINE_DOSES):
        raise InvalidField("esketamine_doses", "Choose one or more of 28, 56 and 84 mg.")
    for value, (lo, hi), field in (
        (bp_systolic, BP_SYSTOLIC_BOUNDS, "bp_systolic_threshold"),
        (bp_diastolic, BP_DIASTOLIC_BOUNDS, "bp_diastolic_threshold"),
    ):
        if not lo <= value <= hi:
            raise InvalidField(field, f"Enter {lo} to {hi} mmHg.")
    return ketamine_min, ketamine_max, doses, bp_systolic, bp_diastolic


class CrisisLine(msgspec.Struct, frozen=True):
    name: str
    action: str
    href: str


def crisis_lines(
    country: Country, clinic_phone: str | None, emergency: str | None
) -> list[CrisisLine]:
    """The crisis resources for the clinic's patients: the lines of their country, then the
    clinic's own number. Elsewhere only the clinic's number and the emergency number it chose."""
    lines: list[CrisisLine]
    if country in ("US", "CA"):
        lines = [
            CrisisLine("988 Suicide & Crisis Lifeline", "Call or text 988 (24/7, free)", "tel:988"),
            CrisisLine("Emergency services", "Call 911 if you are in danger now", "tel:911"),
        ]
    elif country == "GB":
        lines = [
            CrisisLine("Samaritans", "Call 116 123 (24/7, free)", "tel:116123"),
            CrisisLine("NHS 111", "Call 111, option 2, for urgent mental health help", "tel:111"),
            CrisisLine("Emergency services", "Call 999 if you are in danger now", "tel:999"),
        ]
    else:
        lines = []
        if emergency:
            digits = _DIALABLE.sub("", emergency)
            lines.append(
                CrisisLine(
                    "Emergency services",
                    f"Call {emergency} if you are in danger now",
                    f"tel:{digits}",
                )
            )
    if clinic_phone:
        lines.append(
            CrisisLine(
                "Your clinic", f"Call {clinic_phone}", "tel:" + _DIALABLE.sub("", clinic_phone)
            )
        )
    return lines


# --- requests to the clinic -------------------------------------------------------------------

RequestKind = Literal["appointment", "medication"]
RequestStatus = Literal["open", "in_progress", "done"]
REQUEST_KINDS: tuple[RequestKind, ...] = get_args(RequestKind)
REQUEST_STATUSES: tuple[RequestStatus, ...] = get_args(RequestStatus)
REQUEST_LABELS: dict[RequestKind, str] = {
    "appointment": N_("A follow-up appointment"),
    "medication": N_("A concern about my medication"),
}
STATUS_LABELS: dict[RequestStatus, str] = {
    "open": N_("Open"),
    "in_progress": N_("In progress"),
    "done": N_("Done"),
}
MESSAGE_MAX = 1000
PREFERRED_MAX = 200
REPLY_MAX = 2000
READ_RIGHT: dict[RequestKind, Right] = {
    "appointment": "appointment_read",
    "medication": "medication_read",
}
ANSWER_RIGHT: dict[RequestKind, Right] = {
    "appointment": "appointment_answer",
    "medication": "medication_answer",
}


class ClinicRequest(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    clinic_id: UUID
    clinic_name: str
    patient_id: UUID
    patient_name: str
    kind: RequestKind
    message: str
    preferred_times: str | None
    status: RequestStatus
    reply: str | None
    replied_by_name: str | None
    replied_at: datetime | None
    created_at: datetime
    updated_at: datetime


def check_text(raw: str | None, field: str, limit: int, *, required: bool) -> str | None:
    value = (raw or "").strip()
    if required and not value:
        raise InvalidField(field, "Write a few words.")
    if len(value) > limit:
        raise InvalidField(field, f"Use at most {limit} characters.")
    return value or None
