"""The JSON API under /api/v1: controllers that parse, call one service, and respond. Who may
call what is said by guards (server/web.py); errors are rendered by server/problems.py."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from server.api.alerts import ALERT_ROUTES
from server.api.auth import AuthController, MeController
from server.api.clinic import CLINIC_ROUTES
from server.api.export import export_me
from server.api.health import healthz, readyz
from server.api.infusion_day import INFUSION_DAY_ROUTES
from server.api.log import log_routes
from server.api.mfa import SecondFactorController
from server.api.passkeys import PASSKEY_ROUTES
from server.api.patients import PATIENT_ROUTES
from server.api.push import PushController
from server.api.recovery import RecoveryController
from server.api.reminders import RemindersController
from server.api.shares import SHARE_ROUTES
from server.api.sync import SyncController


def api_routes() -> list[ControllerRouterHandler]:
    """Made when the app is, so every kind in the log-kind table gets its endpoints."""
    return [
        healthz,
        readyz,
        AuthController,
        RecoveryController,
        SecondFactorController,
        *PASSKEY_ROUTES,
        MeController,
        *log_routes(),
        SyncController,
        export_me,
        PushController,
        RemindersController,
        *SHARE_ROUTES,
        *PATIENT_ROUTES,
        *ALERT_ROUTES,
        *CLINIC_ROUTES,
        *INFUSION_DAY_ROUTES,
    ]
