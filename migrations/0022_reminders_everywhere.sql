-- Reminders that reach every phone (issue 17): email reminders when no device can be reached,
-- a check-in from the notification itself, and what became of each reminder on each device.
--
-- * reminder_prefs: the opt-in to email reminders, and the two moods the daily reminder's
--   actions ("Good day" / "Hard day") save. Table-wide grants (migrations/0008) cover them.
-- * push_outbox.reminder_id: the id a reminder carries in its payload (the `r` of its navigate
--   URL) and its receipts name; made by the planner from (user, kind, occurrence), so
--   re-planning gives the same id. Null for ad-hoc notifications (alerts).
-- * status 'emailed': the reminder went by email instead of push (never both: the row leaves
--   'pending' in the transaction that queues the email, and the dispatcher only claims
--   pending rows). mail_outbox.reminder_id ties the email to it.
-- * reminder_receipts: "shown" and "opened", as a device's service worker (or the page a
--   declarative notification opened) reported them. One of each per reminder and device.

ALTER TABLE reminder_prefs
    ADD COLUMN email_reminders boolean NOT NULL DEFAULT false,
    ADD COLUMN good_day_mood smallint NOT NULL DEFAULT 7 CHECK (good_day_mood BETWEEN 0 AND 10),
    ADD COLUMN hard_day_mood smallint NOT NULL DEFAULT 3 CHECK (hard_day_mood BETWEEN 0 AND 10);

ALTER TABLE push_outbox ADD COLUMN reminder_id uuid;
CREATE INDEX push_outbox_reminder ON push_outbox (user_id, reminder_id)
    WHERE reminder_id IS NOT NULL;
ALTER TABLE push_outbox DROP CONSTRAINT push_outbox_status_check;
ALTER TABLE push_outbox ADD CONSTRAINT push_outbox_status_check
    CHECK (status IN ('pending', 'sent', 'skipped', 'expired', 'cancelled', 'failed',
                      'undeliverable', 'emailed'));

ALTER TABLE mail_outbox ADD COLUMN reminder_id uuid;
CREATE UNIQUE INDEX mail_outbox_reminder ON mail_outbox (user_id, reminder_id)
    WHERE reminder_id IS NOT NULL;

CREATE TABLE reminder_receipts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reminder_id      uuid NOT NULL,
    subscription_id  uuid,          -- the device; null when the page could not tell
    event            text NOT NULL CHECK (event IN ('shown', 'opened')),
    happened_at      timestamptz NOT NULL,
    received_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (user_id, reminder_id, subscription_id, event)
);
CREATE INDEX reminder_receipts_user ON reminder_receipts (user_id, happened_at);

ALTER TABLE reminder_receipts ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_all ON reminder_receipts TO %I USING (true)',
                   CURRENT_USER);
END
$$;
-- A patient writes and reads their own; a clinician with an active share reads them (delivery
-- health on the summary).
CREATE POLICY own_insert ON reminder_receipts FOR INSERT TO afterglow_app
    WITH CHECK (user_id = (SELECT afterglow_user()));
CREATE POLICY request_scope ON reminder_receipts FOR SELECT TO afterglow_app
    USING (user_id = (SELECT afterglow_user())
           OR EXISTS (SELECT FROM shares s
                       WHERE s.clinician_id = (SELECT afterglow_clinician())
                         AND s.patient_id = reminder_receipts.user_id
                         AND s.revoked_at IS NULL));
GRANT SELECT, INSERT ON reminder_receipts TO afterglow_app;
