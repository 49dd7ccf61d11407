"""A demo clinic, so anyone can see the product in a minute: ``python -m server demo-data``.

One clinician and five patients, each with 90 days of daily check-ins ending today, weekly PHQ-9
and GAD-7, an induction series of six infusions (twice a week) with the mood lift after each
one fading within a few days ("afterglow"), side effects peaking on infusion days, and each a
different course: remission, partial response with an item-9 answer last week, no response with
severe side effects, a responder who stopped logging, and a newcomer before the first infusion.
All of them share with the clinician. Every entry goes through the same write path as the app.

Running it again replaces the demo accounts (found by their emails) and nothing else. The
patients and their logs are demo/patients.py; the clinic around them, demo/clinic.py.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

import asyncpg
import msgspec

from server import db
from server.config import Settings
from server.db import Connection
from server.demo.clinic import CLINIC_NAME, TEAM, DemoLogin, care_team, infusion_day, share_with
from server.demo.patients import DAYS, PATIENTS, DemoPatient, log_patient
from server.services import mfa, passwords
from server.store import users as user_store
from server.timeutil import local_day, utc_now

__all__ = [
    "CLINICIAN_EMAIL",
    "CLINIC_NAME",
    "DEMO_PASSWORD",
    "PATIENTS",
    "TEAM",
    "DemoLogin",
    "DemoPatient",
    "create_demo_clinic",
    "run",
]

DEMO_PASSWORD = "afterglow-demo"  # noqa: S105 (documented; demo accounts only)
CLINICIAN_EMAIL = "demo.clinician@example.org"


async def create_demo_clinic(
    conn: Connection, *, seed: int = 7, progress: Callable[[str], None] = lambda _: None
) -> list[DemoLogin]:
    """Replace the demo accounts with a fresh clinic; returns the logins."""
    emails = [CLINICIAN_EMAIL, *(p.email for p in PATIENTS), *(t[2] for t in TEAM)]
    await conn.execute("DELETE FROM users WHERE lower(email) = ANY($1::text[])", emails)
    await conn.execute("DELETE FROM clinics WHERE name = $1", CLINIC_NAME)
    password_hash = await passwords.hash_password(DEMO_PASSWORD)
    rng = random.Random(seed)
    clinician = await user_store.create_user(
        conn,
        email=CLINICIAN_EMAIL,
        role="clinician",
        password_hash=password_hash,
        display_name="Dr. Ana Lindqvist",
        timezone="America/New_York",
    )
    logins = [DemoLogin("clinician", clinician.display_name, clinician.email)]
    for spec in PATIENTS:
        async with conn.transaction():
            user = await user_store.create_user(
                conn,
                email=spec.email,
                role="patient",
                password_hash=password_hash,
                display_name=spec.name,
                timezone=spec.timezone,
                language=spec.language,
            )
            # The account is as old as the log, so adherence counts the whole 90 days.
            created = await conn.fetchval(
                "UPDATE users SET created_at = now() - $2::interval WHERE id = $1"
                " RETURNING created_at",
                user.id,
                timedelta(days=DAYS),
            )
            user = msgspec.structs.replace(user, created_at=created)
            await log_patient(conn, user, spec, local_day(utc_now(), user.zone), rng)
            await share_with(conn, user, clinician)
            await infusion_day(conn, user, clinician, spec)
        progress(spec.name)
        logins.append(DemoLogin("patient", spec.name, spec.email))
    logins += await care_team(conn, password_hash)
    return logins


async def run(settings: Settings) -> int:
    """The ``demo-data`` command: migrate, build the clinic, print the logins."""
    url = await db.database_url(settings)
    plain = await asyncpg.connect(url, timeout=10)
    try:
        await db.migrate(plain)
    finally:
        await plain.close()
    # An operator command writing many patients' logs: it works as the tables' owner (the
    # migrating user), whose row-level security policy lets it see every patient.
    pool = await db.create_pool(url, settings, min_size=1, max_size=1)
    secret = None
    try:
        async with pool.acquire() as conn:
            logins = await create_demo_clinic(
                conn, progress=lambda name: print(f"  made {name}", flush=True)
            )
            if settings.clinician_mfa == "required":
                secret = await mfa.give_demo_totp(conn, CLINICIAN_EMAIL)
    finally:
        await pool.close()
    print(f"\nDemo clinic ready. Every demo account's password is: {DEMO_PASSWORD}")
    for login in logins:
        print(f"  {login.role:<9} {login.name:<18} {login.email}")
    print(
        "Sign in at /login: the clinician sees the patient list at /clinician; the clinic's "
        "care team (demo.admin, demo.prescriber, demo.nurse, demo.frontdesk) works at /clinic."
    )
    if secret is None:
        print(
            "Two-step sign-in is optional here (AFTERGLOW_CLINICIAN_MFA=optional, the dev "
            "default): the clinician signs in with the password alone."
        )
    else:
        print(
            "Clinicians need two-step sign-in here (AFTERGLOW_CLINICIAN_MFA=required): add this "
            f"key to an authenticator app (time-based) and enter its code after the password:\n"
            f"  {secret}"
        )
    return 0
