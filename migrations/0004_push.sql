-- Web push: devices, reminder preferences, the reminder outbox and a record of every attempt.
--
-- The outbox has one row per (user, kind, occurrence): two workers never send one reminder
-- twice. A worker claims due rows with FOR UPDATE SKIP LOCKED and pushes next_attempt_at one
-- lease ahead, so the rows of a worker that dies mid-send become due again when the lease ends.
-- Every table carries the user's id (patient or clinician) and every query filters on it.

CREATE TABLE push_subscriptions (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    endpoint             text NOT NULL UNIQUE,
    p256dh               text NOT NULL,
    auth                 text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    -- Whether reminders reach this device (for the clinician page): the last outcome each way.
    last_success_at      timestamptz,
    last_failure_at      timestamptz,
    last_failure_status  smallint,  -- HTTP status; null for a timeout or network error
    failures_in_row      integer NOT NULL DEFAULT 0
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id, created_at);

-- A patient's reminder preferences; local times in the patient's zone (users.timezone).
-- planned_until: the outbox holds this patient's reminders up to here. 'infinity' parks a
-- patient without devices, so the rolling planner pass never touches them.
CREATE TABLE reminder_prefs (
    patient_id              uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    daily_checkin_time      time,                 -- null: no daily reminder
    weekly_phq9_day         smallint CHECK (weekly_phq9_day BETWEEN 1 AND 7),  -- ISO, 1 = Monday
    weekly_phq9_time        time,
    infusion_day_before     boolean NOT NULL,
    infusion_two_hours      boolean NOT NULL,
    infusion_evening_after  boolean NOT NULL,
    quiet_hours_start       time,                 -- null (with end): no quiet hours
    quiet_hours_end         time,
    planned_until           timestamptz NOT NULL DEFAULT '-infinity',
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK ((weekly_phq9_day IS NULL) = (weekly_phq9_time IS NULL)),
    CHECK ((quiet_hours_start IS NULL) = (quiet_hours_end IS NULL))
);
CREATE INDEX reminder_prefs_planned_until ON reminder_prefs (planned_until);

CREATE TABLE push_outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind             text NOT NULL,
    occurrence       text NOT NULL,
    due_at           timestamptz NOT NULL,
    stale_at         timestamptz NOT NULL,   -- never sent at or after this moment
    local_day        date,                   -- the patient's day a daily check-in reminder is for
    payload          jsonb NOT NULL,         -- {title, body, url, tag}: never health data
    urgency          text NOT NULL DEFAULT 'normal'
                     CHECK (urgency IN ('very-low', 'low', 'normal', 'high')),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'skipped', 'expired', 'cancelled',
                                       'failed', 'undeliverable')),
    next_attempt_at  timestamptz NOT NULL,   -- due_at, a retry's time, or the end of a lease
    claim_token      uuid,                   -- the worker holding the lease
    attempts         integer NOT NULL DEFAULT 0,
    delivered_to     uuid[] NOT NULL DEFAULT '{}',  -- subscriptions that accepted it
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    UNIQUE (user_id, kind, occurrence),
    CHECK (stale_at > due_at)
);
CREATE INDEX push_outbox_ready ON push_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX push_outbox_finished ON push_outbox (finished_at) WHERE status <> 'pending';

CREATE TABLE push_attempts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id        bigint NOT NULL REFERENCES push_outbox (id) ON DELETE CASCADE,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subscription_id  uuid,                   -- no foreign key: kept after a 410 deletes the device
    attempted_at     timestamptz NOT NULL,
    status_code      smallint,
    outcome          text NOT NULL
                     CHECK (outcome IN ('delivered', 'gone', 'retry', 'timeout', 'vapid_rejected',
                                        'rejected', 'error')),
    detail           text
);
CREATE INDEX push_attempts_outbox ON push_attempts (outbox_id);
CREATE INDEX push_attempts_user ON push_attempts (user_id, attempted_at);
CREATE INDEX push_attempts_at ON push_attempts (attempted_at);
