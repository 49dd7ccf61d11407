"""Crisis resources shown at once when a PHQ-9 answer to item 9 is above 0 (and on /crisis).

Nothing here is delayed or hidden: the same object goes back in the response that stored the
answers. The clinic's phone is the patient's own clinic (users.clinic_phone) if they set one,
else the clinic-wide setting; without either, the national lines still stand.
"""

from __future__ import annotations

import re

import msgspec

from server.i18n import DEFAULT, N_, gettext

NOT_MONITORED = N_(
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


# The 988 Lifeline in Spanish: call 988 and press 2, or text "AYUDA" to 988 (988lifeline.org).
_LINES = {
    "en": (("Call 988 (24/7, free)", "tel:988"), ("Text 988", "sms:988")),
    "es": (
        ("Llama al 988 y marca 2 para español (24/7, gratis)", "tel:988"),
        ("Envía AYUDA por mensaje de texto al 988", "sms:988?body=AYUDA"),
    ),
}


def crisis_resources(
    clinic_phone: str | None,
    language: str = DEFAULT,
    *,
    country: str = "US",
    emergency: str | None = None,
) -> Safety:
    """The crisis lines of the patient's country (their clinic's setting, issue 15) and the
    clinic, in ``language``: US and Canada 988 (in Spanish, in the US: its Spanish option) and
    911; the UK Samaritans 116 123, NHS 111 and 999; elsewhere the emergency number the clinic
    chose. Without a clinic: the US lines."""

    def say(message: str) -> str:
        return gettext(language, message)

    def emergency_line(number: str) -> Resource:
        action = (
            say(N_("Call 911 if you are in danger now"))
            if number == "911"
            else say(N_("Call {number} if you are in danger now")).format(number=number)
        )
        return Resource(
            name=say(N_("Emergency services")),
            action=action,
            href="tel:" + _DIALABLE.sub("", number),
        )

    resources: list[Resource] = []
    if country in ("US", "CA"):
        lifeline = say(N_("988 Suicide & Crisis Lifeline"))
        lines = _LINES.get(language, _LINES[DEFAULT]) if country == "US" else _LINES[DEFAULT]
        resources += [Resource(name=lifeline, action=action, href=href) for action, href in lines]
        resources.append(emergency_line("911"))
    elif country == "GB":
        resources += [
            Resource(
                name="Samaritans", action=say(N_("Call 116 123 (24/7, free)")), href="tel:116123"
            ),
            Resource(
                name="NHS 111",
                action=say(N_("Call 111, option 2, for urgent mental health help")),
                href="tel:111",
            ),
            emergency_line("999"),
        ]
    elif emergency and _DIALABLE.sub("", emergency):
        resources.append(emergency_line(emergency.strip()))
    if clinic_phone:
        resources.append(
            Resource(
                name=say(N_("Your clinic")),
                action=say(N_("Call {phone}")).format(phone=clinic_phone),
                href="tel:" + _DIALABLE.sub("", clinic_phone),
            )
        )
    return Safety(
        title=say(N_("You do not have to go through this alone")),
        message=say(NOT_MONITORED),
        resources=tuple(resources),
    )
