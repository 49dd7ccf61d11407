"""The log-kind table: every kind of entry a patient keeps (check-ins, questionnaires, infusions),
described once. The JSON endpoints (``/api/v1/<path>``), ``/sync``, the data export, the demo and
the store all read this table, so a fourth kind (a blood-pressure reading, a medication) is one
entry here and a table in a migration, not five files.

A kind says what a client sends (``content``), how it is checked against the clock
(``prepare``), what is stored (``record``, built by ``build``), the columns it is stored in, and
what happens around a write (reminders re-planned, the safety response).

A ``final`` kind (questionnaires: a safety answer must not be erased or rewritten) is stored once:
sending the same content again is ``unchanged``, different content is refused (409), and a
delete retracts it. A retracted entry leaves the patient's log and devices (sync sends it as a
delete) but keeps its content and a ``retracted_at`` for the clinicians who share it. Its table
has a ``retracted_at`` column and its record a ``retracted_at`` field (migrations/0014).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from server.domain.checkins import CheckInContent, check_checkin
from server.domain.infusions import InfusionContent, check_infusion
from server.domain.instruments import (
    INSTRUMENTS,
    AssessmentContent,
    check_assessment,
    needs_safety_response,
    score,
)
from server.domain.monitoring import checkin_watched, phq9_watched
from server.domain.records import Assessment, CheckIn, Infusion, InstrumentId
from server.domain.safety import Safety, crisis_resources
from server.errors import InvalidField
from server.timeutil import local_day

DEFAULT_DAYS = 30
MAX_SPAN_DAYS = 366
SUPERSEDED = "A newer change to this entry is already stored; fetch it and edit that."


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """Whose entry is being written, under which id, when (the client's change time), and the
    patient's zone (the entry's local day is fixed in it)."""

    id: UUID
    patient_id: UUID
    zone: ZoneInfo
    updated_at: datetime


def _never(record: Any) -> bool:
    return False


def _as_is(record: Any, clinic_phone: str | None) -> Any:
    return record


def _nothing(content: Any) -> dict[str, Any]:
    return {}


class LogKind(msgspec.Struct, frozen=True):
    name: str  # the `kind` in /sync ("checkin"); its table is the plural ("checkins")
    content: type[Any]  # what a client sends (PUT body, sync `data`)
    record: type[msgspec.Struct]  # what is stored and read back: its fields are the columns
    prepare: Callable[[Any, datetime], Any]  # content checked against now, canonical
    moment: str  # the time entries are ordered and paged by; it fixes the local day
    noun: str = ""  # in messages ("No such check-in."); the name if empty
    derive: Callable[[Any], dict[str, Any]] = _nothing  # fields computed from content (a score)
    author: bool = False  # an `updated_by` column records who made each change
    # GET without from/to: the last DEFAULT_DAYS days (False: every entry).
    recent_by_default: bool = True
    filters: tuple[str, ...] = ()  # columns a list may be narrowed by (?instrument=phq9)
    replans_reminders: bool = False  # reminders follow these entries (infusions)
    needs_safety: Callable[[Any], bool] = _never  # show crisis resources, alert the clinicians
    # The monitoring rules may find something in this entry (content or record) when it is
    # written: server/services/monitoring.py reads around it, in the write's transaction.
    watched: Callable[[Any], bool] = _never
    # The record as the patient's app receives it (a questionnaire adds its band's label and,
    # when needed, the crisis resources with the patient's clinic phone), and its type.
    view: Callable[[Any, str | None], Any] = _as_is
    shown_as: type[Any] | None = None
    final: bool = False  # stored once, never changed; a delete retracts (see the module)
    # Record fields stored by their own use case, never by a log write (an infusion's course:
    # server/domain/courses.py): read with the record, kept as they are by every upsert.
    kept: tuple[str, ...] = ()

    @property
    def missing(self) -> str:
        return f"No such {self.noun or self.name}."

    @property
    def refused(self) -> str:
        """Why a change to a stored entry of a final kind is refused."""
        return (
            f"A stored {self.noun or self.name} is final and cannot be changed. Retract it and "
            "answer a new one; your clinician still sees a retracted one."
        )

    def shown(self, *, retracted: bool = False) -> str:
        """The SQL condition for the rows a read returns: live entries, and with ``retracted``
        (a clinician's reads, the patient's data export) retracted ones too."""
        if retracted and self.final:
            return "(NOT deleted OR retracted_at IS NOT NULL)"
        return "NOT deleted"

    @property
    def table(self) -> str:
        return f"{self.name}s"

    @property
    def path(self) -> str:
        """/api/v1/<path>, and the section of the data export."""
        return self.table.replace("_", "-")

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        """Stored columns after the bookkeeping ones, each with its SQL type."""
        written = tuple(c for c in _columns(self.record) if c[0] not in self.kept)
        return written + ((("updated_by", "uuid"),) if self.author else ())

    @property
    def select_list(self) -> str:
        """The columns that make a record, plus what sync needs (its change time, tombstone)."""
        content = ", ".join(f"{name}::{cast} AS {name}" for name, cast in _columns(self.record))
        retracted = ", retracted_at" if self.final else ""
        return f"id, patient_id, {content}, client_updated_at, deleted{retracted}"

    def build(self, content: Any, entry: Entry) -> Any:
        """The record of prepared content: the local day is fixed in the patient's zone."""
        return msgspec.convert(
            {
                **msgspec.structs.asdict(content),
                **self.derive(content),
                "id": entry.id,
                "patient_id": entry.patient_id,
                "local_day": local_day(getattr(content, self.moment), entry.zone),
                "updated_at": entry.updated_at,
            },
            self.record,
        )

    def from_row(self, row: Any) -> Any:
        """A stored row (read with ``select_list``) as the kind's record."""
        return msgspec.convert({**row, "updated_at": row["client_updated_at"]}, self.record)

    def values(self, record: Any, updated_by: UUID | None) -> tuple[Any, ...]:
        """What a write stores, in the order of ``columns``."""
        return tuple(
            updated_by if name == "updated_by" else getattr(record, name)
            for name, _ in self.columns
        )

    def tombstone(self, updated_by: UUID | None) -> tuple[Any, ...]:
        """What a delete stores: nothing of the content; empty JSON arrays stay arrays."""
        return tuple(
            updated_by if name == "updated_by" else [] if cast == "jsonb" else None
            for name, cast in self.columns
        )


_BOOKKEEPING = ("id", "patient_id", "updated_at", "retracted_at")


@cache
def _columns(record: type[msgspec.Struct]) -> tuple[tuple[str, str], ...]:
    info = msgspec.inspect.type_info(record)
    assert isinstance(info, msgspec.inspect.StructType)
    return tuple(
        (field.name, _sql_type(field.type))
        for field in info.fields
        if field.name not in _BOOKKEEPING
    )


def _sql_type(kind: msgspec.inspect.Type) -> str:
    """How a record's field is stored. Whole numbers on a log are small (scales, minutes)."""
    if isinstance(kind, msgspec.inspect.UnionType):
        (kind,) = (t for t in kind.types if not isinstance(t, msgspec.inspect.NoneType))
    if isinstance(kind, msgspec.inspect.VarTupleType):
        if isinstance(kind.item_type, msgspec.inspect.IntType):
            return "smallint[]"
        return "jsonb"
    for python, sql in _SQL_TYPES:
        if isinstance(kind, python):
            return sql
    raise TypeError(f"no SQL type for {kind}")


_SQL_TYPES: tuple[tuple[type[msgspec.inspect.Type], str], ...] = (
    (msgspec.inspect.IntType, "smallint"),
    (msgspec.inspect.FloatType, "float8"),
    (msgspec.inspect.StrType, "text"),
    (msgspec.inspect.LiteralType, "text"),
    (msgspec.inspect.DateTimeType, "timestamptz"),
    (msgspec.inspect.DateType, "date"),
    (msgspec.inspect.UUIDType, "uuid"),
)


# --- the three kinds -------------------------------------------------------------------------


class AssessmentOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: UUID
    instrument: InstrumentId
    answers: tuple[int, ...]
    total: int
    band: str
    band_label: str
    taken_at: datetime
    local_day: date
    updated_at: datetime
    difficulty: int | None = None  # PHQ-9 item 10, when answered
    safety: Safety | None = None  # present when PHQ-9 item 9 is above 0


def assessment_safety(assessment: Assessment, clinic_phone: str | None) -> Safety | None:
    if not needs_safety_response(assessment.instrument, assessment.answers):
        return None
    return crisis_resources(clinic_phone)


def assessment_out(assessment: Assessment, clinic_phone: str | None) -> AssessmentOut:
    instrument = INSTRUMENTS[assessment.instrument]
    label = next(band.label for band in instrument.bands if band.id == assessment.band)
    return AssessmentOut(
        id=assessment.id,
        instrument=assessment.instrument,
        answers=assessment.answers,
        total=assessment.total,
        band=assessment.band,
        band_label=label,
        taken_at=assessment.taken_at,
        local_day=assessment.local_day,
        updated_at=assessment.updated_at,
        difficulty=assessment.difficulty,
        safety=assessment_safety(assessment, clinic_phone),
    )


def _score(content: AssessmentContent) -> dict[str, Any]:
    result = score(INSTRUMENTS[content.instrument], content.answers)
    return {"total": result.total, "band": result.band.id}


def _needs_safety(answered: Assessment | AssessmentContent) -> bool:
    return needs_safety_response(answered.instrument, answered.answers)


CHECKINS = LogKind(
    "checkin",
    CheckInContent,
    CheckIn,
    check_checkin,
    "recorded_at",
    "check-in",
    watched=checkin_watched,
)
ASSESSMENTS = LogKind(
    "assessment",
    AssessmentContent,
    Assessment,
    lambda content, now: check_assessment(content, now)[0],
    "taken_at",
    noun="questionnaire",
    derive=_score,
    filters=("instrument",),
    needs_safety=_needs_safety,
    watched=phq9_watched,
    view=assessment_out,
    shown_as=AssessmentOut,
    final=True,  # a safety answer cannot be rewritten or erased (issue 13)
)
INFUSIONS = LogKind(
    "infusion",
    InfusionContent,
    Infusion,
    check_infusion,
    "scheduled_at",
    author=True,  # a clinician may add or move a patient's infusions
    recent_by_default=False,
    replans_reminders=True,
    kept=("course_id",),
)

KINDS: dict[str, LogKind] = {kind.name: kind for kind in (CHECKINS, ASSESSMENTS, INFUSIONS)}


def kind_named(name: str, field: str = "kind") -> LogKind:
    found = KINDS.get(name)
    if found is None:
        known = ", ".join(KINDS)
        raise InvalidField(field, f"Not a kind of entry this app keeps ({known}).")
    return found


def parse_entry_id(raw: str, field: str = "id") -> UUID:
    """A client-made UUID. Parsed here, not by the router, so a bad one is a 400 naming it."""
    try:
        return msgspec.convert(raw, UUID)
    except msgspec.ValidationError:
        raise InvalidField(
            field, "Not a UUID (like 6f1e0b53-6c39-4f38-9f2e-0a3b1c2d3e4f)."
        ) from None


# --- ranges of local days ----------------------------------------------------------------------


def day_range(
    first: date | None,
    last: date | None,
    today: date,
    *,
    default_days: int | None,
    max_days: int = MAX_SPAN_DAYS,
) -> tuple[date | None, date | None]:
    """The one rule for ``from``/``to``: local days first..last. Without them, the
    ``default_days`` up to today (``None``: the range stays open where it was not given)."""
    if default_days is not None:
        if last is None:
            last = today if first is None else first + timedelta(days=default_days - 1)
        if first is None:
            first = last - timedelta(days=default_days - 1)
    if first is not None and last is not None:
        if first > last:
            raise InvalidField("from", "`from` is after `to`.")
        if (last - first).days >= max_days:
            raise InvalidField("to", f"Ask for at most {max_days} days at a time.")
    return first, last
