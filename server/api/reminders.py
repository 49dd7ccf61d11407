"""A patient's reminder preferences: `GET`/`PUT /api/v1/me/reminders` (and `reminders` in
`PATCH /api/v1/me`). Times are "HH:MM" in the patient's own time zone; null switches off."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, put
from litestar.di import Provide

from server import security
from server.api import CurrentUser, DbPool, Input, JSONBody
from server.db import Connection, transaction
from server.domain.reminders import (
    WEEKDAYS,
    ReminderPrefs,
    Weekday,
    check_prefs,
    format_time,
    parse_time,
)
from server.store import reminders as reminder_store

Clock = Annotated[str, msgspec.Meta(max_length=5, examples=["08:30"])]
_TIMES = ("daily_checkin_time", "weekly_phq9_time", "quiet_hours_start", "quiet_hours_end")


class RemindersIn(Input):
    """Every field, as PUT replaces the preferences."""

    daily_checkin_time: Clock | None
    weekly_phq9_day: Weekday | None
    weekly_phq9_time: Clock | None
    infusion_day_before: bool
    infusion_two_hours: bool
    infusion_evening_after: bool
    quiet_hours_start: Clock | None
    quiet_hours_end: Clock | None


class RemindersPatch(Input):
    """Only the fields to change (inside PATCH /me)."""

    daily_checkin_time: Clock | msgspec.UnsetType | None = msgspec.UNSET
    weekly_phq9_day: Weekday | msgspec.UnsetType | None = msgspec.UNSET
    weekly_phq9_time: Clock | msgspec.UnsetType | None = msgspec.UNSET
    infusion_day_before: bool | msgspec.UnsetType = msgspec.UNSET
    infusion_two_hours: bool | msgspec.UnsetType = msgspec.UNSET
    infusion_evening_after: bool | msgspec.UnsetType = msgspec.UNSET
    quiet_hours_start: Clock | msgspec.UnsetType | None = msgspec.UNSET
    quiet_hours_end: Clock | msgspec.UnsetType | None = msgspec.UNSET


class Reminders(msgspec.Struct):
    daily_checkin_time: str | None
    weekly_phq9_day: Weekday | None
    weekly_phq9_time: str | None
    infusion_day_before: bool
    infusion_two_hours: bool
    infusion_evening_after: bool
    quiet_hours_start: str | None
    quiet_hours_end: str | None


def reminders_of(prefs: ReminderPrefs) -> Reminders:
    day = prefs.weekly_phq9_day
    return Reminders(
        daily_checkin_time=format_time(prefs.daily_checkin_time),
        weekly_phq9_day=None if day is None else WEEKDAYS[day - 1],
        weekly_phq9_time=format_time(prefs.weekly_phq9_time),
        infusion_day_before=prefs.infusion_day_before,
        infusion_two_hours=prefs.infusion_two_hours,
        infusion_evening_after=prefs.infusion_evening_after,
        quiet_hours_start=format_time(prefs.quiet_hours_start),
        quiet_hours_end=format_time(prefs.quiet_hours_end),
    )


def merged(
    base: ReminderPrefs, data: RemindersIn | RemindersPatch, prefix: str = ""
) -> ReminderPrefs:
    """``base`` with the given fields replaced, checked; errors name ``prefix`` + field."""
    changes: dict[str, object] = {}
    for name in ReminderPrefs.__struct_fields__:
        value = getattr(data, name)
        if value is msgspec.UNSET:
            continue
        if name in _TIMES:
            value = parse_time(value, prefix + name)
        elif name == "weekly_phq9_day" and value is not None:
            value = WEEKDAYS.index(value) + 1
        changes[name] = value
    return check_prefs(msgspec.structs.replace(base, **changes), prefix)


async def update_reminders(
    conn: Connection, patient_id: UUID, data: RemindersIn | RemindersPatch, prefix: str = ""
) -> ReminderPrefs:
    """Check, store and re-plan, in the caller's transaction."""
    prefs = merged(await reminder_store.prefs_of(conn, patient_id), data, prefix)
    await reminder_store.save_prefs(conn, patient_id, prefs)
    await reminder_store.replan_patient(conn, patient_id)
    return prefs


class RemindersController(Controller):
    path = "/api/v1/me/reminders"
    tags = ["reminders"]
    dependencies = {"user": Provide(security.provide_patient)}

    @get("")
    async def get_reminders(self, user: CurrentUser, pool: DbPool) -> Reminders:
        async with transaction(pool) as conn:
            return reminders_of(await reminder_store.prefs_of(conn, user.id))

    @put("")
    async def put_reminders(
        self, data: JSONBody[RemindersIn], user: CurrentUser, pool: DbPool
    ) -> Reminders:
        """Replace the preferences; planned reminders follow at once."""
        async with transaction(pool) as conn:
            return reminders_of(await update_reminders(conn, user.id, data))
