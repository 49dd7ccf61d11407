"""Alerts: raising them with the write that found a warning sign, each recipient's list and
acknowledgement, and the worker's escalation of alerts nobody acknowledged in time.

A warning sign (server/domain/alerts.py) raises one alert for every clinician with an active
share and every prescriber and nurse of a clinic the patient shares with (migrations/0023),
in the transaction of the patient's write: the alert rows, a push to each recipient's
devices and an email to each are written together (migrations/0015), and the worker sends them.
The push and the email say only that a patient needs attention, with a link to /clinician;
what was found is shown inside the app. Each recipient acknowledges their own alert, and the
patient's access log shows it. An event (patient, kind, local day) that no recipient
acknowledged within ``AFTERGLOW_ALERT_ESCALATE_MINUTES`` is mailed once to the on-call address
of the patient's clinic (its settings), else ``AFTERGLOW_CLINIC_ALERT_EMAIL``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from uuid import UUID

from server.config import Settings
from server.db import Connection, Pool, transaction
from server.domain.accounts import User
from server.domain.alerts import Alert, AlertState, Raised, clipped
from server.domain.mail import KINDS
from server.errors import NotFound
from server.services.access import parse_patient_id, patient_access
from server.store import alerts as alert_store
from server.store import audit
from server.store import clinics as clinic_store
from server.timeutil import utc_now

log = logging.getLogger("afterglow.alerts")

LIST_DEFAULT = 100
LIST_MAX = 500
HISTORY_MAX = 50  # on the summary page
ESCALATION_BATCH = 500
ESCALATE_EVERY = 15.0  # seconds between the worker's escalation passes
NO_SUCH_ALERT = "No such alert."


async def raise_alerts(conn: Connection, patient_id: UUID, found: Iterable[Raised]) -> int:
    """Raise each warning sign for every clinician sharing with the patient, in the caller's
    transaction (the write that found them). Returns the alerts that are new."""
    raised = 0
    for sign in found:
        sign = Raised(sign.kind, sign.day, clipped(sign.detail), sign.said)
        raised += await alert_store.raise_alert(conn, patient_id, sign)
    return raised


async def alerts_for(
    pool: Pool, clinician: User, state: AlertState, address: str, limit: int = LIST_DEFAULT
) -> list[Alert]:
    """The clinician's own alerts (open ones, or all), newest first. Seeing them is seeing the
    patients' data: each patient listed gets one audit row."""
    async with transaction(pool) as conn:
        found = await alert_store.of_recipient(
            conn, clinician.id, open_only=state == "open", limit=limit
        )
        await audit.record_many(
            conn,
            actor=clinician,
            patient_ids=list(dict.fromkeys(a.patient_id for a in found)),
            action="view_alerts",
            address=address,
        )
    return found


async def history_of(pool: Pool, viewer: User, raw_patient_id: str) -> list[Alert]:
    """A clinician's own alerts about one patient: open ones first, then newest first (the
    summary page, whose view is audited there). A patient has none to read: [] for them."""
    if viewer.role != "clinician":
        return []
    async with transaction(pool) as conn:
        access = await patient_access(conn, viewer, parse_patient_id(raw_patient_id), "alerts")
        still_open = await alert_store.of_recipient(
            conn, viewer.id, open_only=True, limit=LIST_MAX, patient_id=access.patient_id
        )
        recent = await alert_store.of_recipient(
            conn, viewer.id, open_only=False, limit=HISTORY_MAX, patient_id=access.patient_id
        )
    return still_open + [a for a in recent if a.acknowledged_at is not None]


def parse_alert_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound(NO_SUCH_ALERT) from None


async def acknowledge(
    pool: Pool, clinician: User, raw_id: str, note: str | None, address: str
) -> Alert:
    """Acknowledge one of the clinician's own alerts (again: it stays as it was). The patient
    sees it in their access log. Another clinician's alert, or one about a patient who no
    longer shares with them, does not exist for them (404)."""
    alert_id = parse_alert_id(raw_id)
    async with transaction(pool) as conn:
        found = await alert_store.acknowledge(conn, alert_id, clinician.id, note, utc_now())
        if found is None:
            raise NotFound(NO_SUCH_ALERT)
        alert, now_acknowledged = found
        if now_acknowledged:
            await audit.record(
                conn,
                actor=clinician,
                patient_id=alert.patient_id,
                action="alert_acknowledge",
                address=address,
                detail={"alert_id": str(alert.id), "kind": alert.kind, "day": str(alert.day)},
            )
    return alert


@cache
def _warn_nowhere_to_escalate() -> None:
    log.warning(
        "AFTERGLOW_CLINIC_ALERT_EMAIL is not set: alerts nobody acknowledges in time are not "
        "escalated to anyone"
    )


async def escalation_pass(pool: Pool, settings: Settings, now: datetime | None = None) -> int:
    """Mail the clinic's on-call address once for every event no recipient acknowledged within
    ``AFTERGLOW_ALERT_ESCALATE_MINUTES``. Returns the events escalated now. Several workers may
    run it at once: one decides, the others skip."""
    recipient = settings.clinic_alert_email
    if recipient is None:
        async with transaction(pool) as conn:
            some_clinic_on_call = await clinic_store.any_on_call(conn)
        if not some_clinic_on_call:
            _warn_nowhere_to_escalate()  # once a process
            return 0
    now = now or utc_now()
    raised_before = now - timedelta(minutes=settings.alert_escalate_minutes)
    escalated = 0
    while True:
        async with transaction(pool) as conn:
            batch = await alert_store.escalate_due(
                conn,
                raised_before=raised_before,
                now=now,
                recipient=recipient,
                stale_after=KINDS["alert_escalation"].stale_after,
                limit=ESCALATION_BATCH,
            )
        if batch is None:
            return escalated
        decided, mailed = batch
        escalated += mailed
        if decided < ESCALATION_BATCH:
            return escalated
