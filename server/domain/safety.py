"""Crisis resources shown at once when a PHQ-9 answer to item 9 is above 0 (and on /crisis).

Nothing here is delayed or hidden: the same object goes back in the response that stored the
answers. The clinic's phone is the patient's own clinic (users.clinic_phone) if they set one,
else the clinic-wide setting; without either, the national lines still stand.
"""

from __future__ import annotations

import re

import msgspec

NOT_MONITORED = (
    "This app is not monitored around the clock: nobody at your clinic will see your answers "
    "right away. If you are in danger or thinking about ending your life, reach out now."
)


class Resource(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    action: str  # what to do, in words: "Call or text 988"
    href: str  # tel: or sms: link the app turns into a button


class Safety(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    message: str
    resources: tuple[Resource, ...]


_DIALABLE = re.compile(r"[^0-9+]")


def clinic_phone_for(own: str | None, clinic_wide: str | None) -> str | None:
    """The patient's own clinic number wins over the clinic-wide setting."""
    for phone in (own, clinic_wide):
        if phone and _DIALABLE.sub("", phone):
            return phone.strip()
    return None


def crisis_resources(clinic_phone: str | None) -> Safety:
    resources = [
        Resource(
            name="988 Suicide & Crisis Lifeline", action="Call 988 (24/7, free)", href="tel:988"
        ),
        Resource(name="988 Suicide & Crisis Lifeline", action="Text 988", href="sms:988"),
        Resource(
            name="Emergency services", action="Call 911 if you are in danger now", href="tel:911"
        ),
    ]
    if clinic_phone:
        resources.append(
            Resource(
                name="Your clinic",
                action=f"Call {clinic_phone}",
                href="tel:" + _DIALABLE.sub("", clinic_phone),
            )
        )
    return Safety(
        title="You do not have to go through this alone",
        message=NOT_MONITORED,
        resources=tuple(resources),
    )
