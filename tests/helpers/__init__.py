"""What tests share, other than fixtures: plain functions, classes and constants.

Test modules import these from here, never from a conftest or from another test module
(``tests/unit/test_test_layout.py`` checks that); the conftests hold only fixtures and hooks, and
import what they need from here too.

    accounts       PASSWORD, unique_email, register and make_clinician (in-process app)
    app            running(): an app with its lifespan entered, for a fixture
    client         Client: httpx against the in-process app, sending the CSRF header
    database       the test PostgreSQL server, databases owned by a non-superuser role, URLs,
                   stopping and starting pgserver
    live_server    LiveServer (`python -m server serve` in a subprocess) and signing in to it
    log_entries    check-in, assessment and infusion bodies; reading the logging tables
    sharing        share codes, shares, audit rows, a patient's log written through the API
    records        domain records on day n of a fixed course, and the summary over them
    push           users and devices made in the database, a settable clock, the push outbox
    push_service   a local Web Push service (RFC 8030) that checks VAPID and decrypts, on the
                   port the test settings list as a push service
    listener       a TCP listener counting connections, a resolver answering from a table
    workers        `python -m server worker` processes
    mail_server    a real SMTP server (aiosmtpd) keeping what it accepts; the link in a message
    browser        Chromium settings, signing up a browser context, reading the database
    web_push       a stubbed push subscription in Chromium, and pushes handed to its worker
    traces         every column of every table that holds a value (erasure, what is kept)
"""
