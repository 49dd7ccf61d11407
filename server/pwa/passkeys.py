"""The clinician's passkey page (/passkeys): list, add and remove passkeys, which sign in
without a password and count as the second sign-in step. A patient's are on Settings.

Reachable before a required second factor is set up (signed in is enough, as for /mfa/setup):
a passkey is one way to set it up.
"""

from __future__ import annotations

from litestar import get
from litestar.response import Redirect, Template

from server.web import CurrentUser, signed_in

PAGE = "/passkeys"


@get(PAGE, include_in_schema=False, guards=[signed_in])
async def passkeys_page(user: CurrentUser) -> Template | Redirect:
    if user.role != "clinician":
        return Redirect("/settings")
    return Template("passkeys.html", context={"page": "passkeys", "user": user, "clinician": True})


PASSKEY_PAGES = [passkeys_page]
