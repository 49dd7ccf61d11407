"""The web app: the patient's pages, the clinician's pages, the manifest and the service worker.

Pages use the same guards as the JSON API, but a refusal is a redirect: signed out (or the
second factor still to come), to ``/login?next=<page>``; signed in as the other kind of account,
to that account's home; a clinician who must set up a second factor first, to ``/mfa/setup``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, Router
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.template.config import TemplateConfig

from server.errors import NotSignedIn, SecondFactorRequired
from server.pwa import language
from server.pwa.chair import CHAIR_PAGES
from server.pwa.clinic import CLINIC_PAGES
from server.pwa.clinic_patient import CLINIC_PATIENT_PAGES
from server.pwa.clinician import CLINICIAN_PAGES
from server.pwa.day_before import DAY_BEFORE_PAGES
from server.pwa.mfa import MFA_PAGES, SETUP
from server.pwa.pages import PAGES
from server.pwa.passkeys import PASSKEY_PAGES
from server.pwa.recovery import RECOVERY_PAGES
from server.pwa.ride import RIDE_PAGES
from server.pwa.sharing import SHARING_PAGES
from server.pwa.shell import SHELL_ROUTES
from server.web import WrongRole

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
HOME = {"patient": "/", "clinician": "/clinician"}
__all__ = ["TEMPLATES_DIR", "pwa_router", "template_config"]


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja2 with autoescaping and the i18n extension (server/pwa/language.py);
    templates/base.html is the layout every page extends."""
    return TemplateConfig(
        directory=TEMPLATES_DIR, engine=JinjaTemplateEngine, engine_callback=language.install
    )


def _sign_in(request: Request[Any, Any, Any], _: NotSignedIn) -> Response[Any]:
    # The page asked for, encoded as one value; static/js/auth.js goes back only to a page of
    # this origin, whatever `next` a link to /login carries.
    return Redirect("/login?" + urlencode({"next": request.url.path}, safe="/"))


def _home(_: Request[Any, Any, Any], error: WrongRole) -> Response[Any]:
    return Redirect(HOME[error.role])


def _second_factor(_: Request[Any, Any, Any], __: SecondFactorRequired) -> Response[Any]:
    return Redirect(SETUP)


def pwa_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            *PAGES,
            *RECOVERY_PAGES,
            *RIDE_PAGES,
            *SHELL_ROUTES,
            *CLINICIAN_PAGES,
            *CHAIR_PAGES,
            *DAY_BEFORE_PAGES,
            *CLINIC_PAGES,
            *CLINIC_PATIENT_PAGES,
            *SHARING_PAGES,
            *MFA_PAGES,
            *PASSKEY_PAGES,
            *language.LANGUAGE_ROUTES,
        ],
        before_request=language.before_page,
        after_request=language.after_page,
        exception_handlers={
            NotSignedIn: _sign_in,
            WrongRole: _home,
            SecondFactorRequired: _second_factor,
        },
        include_in_schema=False,
    )
