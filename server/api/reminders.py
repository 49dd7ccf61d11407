"""A patient's reminder preferences: `GET`/`PUT /api/v1/me/reminders` (and `reminders` in
`PATCH /api/v1/me`). Times are "HH:MM" in the patient's own time zone; null switches off."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get, put

from server.domain.reminders import WEEKDAYS, ReminderPrefs, Weekday, format_time
from server.services import reminders
from server.web import CurrentUser, DbPool, Input, JSONBody, patients_only

Clock = Annotated[str, msgspec.Meta(max_length=5, examples=["08:30"])]
Mood = Annotated[int, msgspec.Meta(ge=0, le=10)]


class RemindersIn(Input):
    """Every field, as PUT replaces the preferences (those added later have defaults)."""

    daily_checkin_time: Clock | None
    weekly_phq9_day: Weekday | None
    weekly_phq9_time: Clock | None
    infusion_day_before: bool
    infusion_two_hours: bool
    infusion_evening_after: bool
    quiet_hours_start: Clock | None
    quiet_hours_end: Clock | None
    email_reminders: bool = False
    good_day_mood: Mood = 7
    hard_day_mood: Mood = 3


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
    email_reminders: bool | msgspec.UnsetType = msgspec.UNSET
    good_day_mood: Mood | msgspec.UnsetType = msgspec.UNSET
    hard_day_mood: Mood | msgspec.UnsetType = msgspec.UNSET


class Reminders(msgspec.Struct):
    daily_checkin_time: str | None
    weekly_phq9_day: Weekday | None
    weekly_phq9_time: str | None
    infusion_day_before: bool
    infusion_two_hours: bool
    infusion_evening_after: bool
    quiet_hours_start: str | None
    quiet_hours_end: str | None
    email_reminders: bool  # email when no device can be reached
    good_day_mood: int  # what the daily reminder's "Good day" action saves
    hard_day_mood: int  # ... and "Hard day"


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
        email_reminders=prefs.email_reminders,
        good_day_mood=prefs.good_day_mood,
        hard_day_mood=prefs.hard_day_mood,
    )


def changes_of(data: RemindersIn | RemindersPatch) -> dict[str, Any]:
    """The fields the client sent (all of them for PUT), as ``merge_prefs`` takes them."""
    return {
        name: value
        for name in ReminderPrefs.__struct_fields__
        if (value := getattr(data, name)) is not msgspec.UNSET
    }


class RemindersController(Controller):
    path = "/api/v1/me/reminders"
    tags = ["reminders"]
    guards = [patients_only]

    @get("")
    async def get_reminders(self, user: CurrentUser, pool: DbPool) -> Reminders:
        return reminders_of(await reminders.prefs_of(pool, user.id))

    @put("")
    async def put_reminders(
        self, data: JSONBody[RemindersIn], user: CurrentUser, pool: DbPool
    ) -> Reminders:
        """Replace the preferences; planned reminders follow at once."""
        return reminders_of(await reminders.replace_prefs(pool, user.id, changes_of(data)))
