-- Alerts: a warning sign in a patient's data that a person must see and acknowledge (issue 13).
--
-- * One alert per recipient. Each clinician with an active share when the sign is found gets
--   their own row for the event (patient, kind, the patient's local day) and acknowledges their
--   own. Raising again is a no-op: the event's key per recipient is unique.
-- * Raising writes the alert rows, a push to each recipient's devices (push_outbox, kind
--   patient_attention, occurrence alert:<id>) and an email to each (mail_outbox, kind alert) in
--   the transaction of the write that found the sign: nothing is lost if the worker dies
--   between raising and sending, and the worker sends each once. The push and the email say
--   only that a patient needs attention; what was found stays in this table.
-- * A patient's request raises alerts for clinicians whose rows it may not read: it does so
--   through afterglow_raise_alert (SECURITY DEFINER), which raises only about the request's own
--   patient (or, for a clinician's request, a patient sharing with them) and writes the push
--   and the email itself, so no statement chooses what they say or whom they reach. 0009's
--   policy that let a patient's request insert such pushes itself (alert_clinicians) goes.
-- * A clinician reads and acknowledges their own alerts about patients sharing with them now;
--   only the acknowledgement can change, once. A patient reads none of the rows: each
--   acknowledgement is in their access log.
-- * Escalation is the worker's, as the owner: an event whose first alert is older than
--   AFTERGLOW_ALERT_ESCALATE_MINUTES while no recipient has acknowledged it is mailed to the
--   clinic's on-call address. alert_escalations holds one row per event escalated, so it is
--   mailed once whatever runs the pass; escalation_checked marks the rows the pass has decided,
--   so each pass reads only rows it has not seen.
-- * Every row goes with the patient's account (and with the recipient's).

CREATE TABLE alerts (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    clinician_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,  -- the recipient
    kind                text NOT NULL CHECK (kind IN ('item9', 'relapse', 'mood_drop',
                                                  'persisting_severe_effect')),
    local_day           date NOT NULL,          -- the patient's day the sign is dated on
    detail              text NOT NULL CHECK (length(detail) BETWEEN 1 AND 500),  -- clinician's
    raised_at           timestamptz NOT NULL DEFAULT now(),
    acknowledged_at     timestamptz,
    acknowledged_by     uuid,                   -- the recipient, who acknowledges their own
    note                text CHECK (length(note) <= 2000),
    escalation_checked  boolean NOT NULL DEFAULT false,
    UNIQUE (patient_id, kind, local_day, clinician_id),
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL)),
    CHECK (note IS NULL OR acknowledged_at IS NOT NULL)
);
CREATE INDEX alerts_recipient ON alerts (clinician_id, raised_at DESC);
CREATE INDEX alerts_unchecked ON alerts (raised_at)
    WHERE acknowledged_at IS NULL AND NOT escalation_checked;

CREATE TABLE alert_escalations (
    patient_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          text NOT NULL,
    local_day     date NOT NULL,
    escalated_at  timestamptz NOT NULL,
    PRIMARY KEY (patient_id, kind, local_day)
);

REVOKE ALL ON alerts, alert_escalations FROM PUBLIC, afterglow_app;
GRANT SELECT ON alerts TO afterglow_app;
GRANT UPDATE (acknowledged_at, acknowledged_by, note) ON alerts TO afterglow_app;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['alerts', 'alert_escalations'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY owner_all ON %I TO %I USING (true)', t, CURRENT_USER);
    END LOOP;
END
$$;

-- A clinician's own alerts, about a patient who shares with them now (a withdrawn share hides
-- them at the next query, as it hides the patient's log).
CREATE POLICY own_alerts ON alerts FOR SELECT TO afterglow_app
    USING (clinician_id = (SELECT afterglow_clinician())
           AND EXISTS (SELECT FROM shares s
                        WHERE s.clinician_id = alerts.clinician_id
                          AND s.patient_id = alerts.patient_id AND s.revoked_at IS NULL));
CREATE POLICY acknowledge ON alerts FOR UPDATE TO afterglow_app
    USING (clinician_id = (SELECT afterglow_clinician())
           AND EXISTS (SELECT FROM shares s
                        WHERE s.clinician_id = alerts.clinician_id
                          AND s.patient_id = alerts.patient_id AND s.revoked_at IS NULL))
    WITH CHECK (acknowledged_at IS NOT NULL AND acknowledged_by = (SELECT afterglow_clinician()));

-- An acknowledgement stands: it is in the patient's access log, and the escalation relied on it.
CREATE FUNCTION alerts_acknowledged_once() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'an alert is acknowledged once' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER alerts_acknowledged_once
    BEFORE UPDATE OF acknowledged_at, acknowledged_by, note ON alerts
    FOR EACH ROW WHEN (OLD.acknowledged_at IS NOT NULL)
    EXECUTE FUNCTION alerts_acknowledged_once();

-- Raise an alert of ``alert_kind`` about ``alert_patient`` on their local day ``alert_day`` for
-- every clinician with an active share, with a push and an email to each new recipient.
-- Returns how many recipients were new.
CREATE FUNCTION afterglow_raise_alert(alert_patient uuid, alert_kind text, alert_day date,
                                      alert_detail text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    raised integer;
BEGIN
    IF NOT (alert_patient = (SELECT afterglow_patient())
            OR EXISTS (SELECT FROM public.shares s
                        WHERE s.patient_id = alert_patient
                          AND s.clinician_id = (SELECT afterglow_clinician())
                          AND s.revoked_at IS NULL)
            OR session_user = current_user) THEN
        RAISE EXCEPTION 'a request raises alerts only about its own patient'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Stale after a day, as the push and the email of the old item-9 alert were; what is in
    -- them is on the clinician's list until it is acknowledged.
    WITH raised_now AS (
        INSERT INTO public.alerts AS a (patient_id, clinician_id, kind, local_day, detail)
        SELECT s.patient_id, s.clinician_id, alert_kind, alert_day, alert_detail
          FROM public.shares s
         WHERE s.patient_id = alert_patient AND s.clinician_id IS NOT NULL
           AND s.revoked_at IS NULL
        ON CONFLICT DO NOTHING
        RETURNING a.id, a.clinician_id
    ), pushed AS (
        INSERT INTO public.push_outbox (user_id, kind, occurrence, due_at, stale_at, payload,
                                        urgency, next_attempt_at)
        SELECT r.clinician_id, 'patient_attention', 'alert:' || r.id, now(),
               now() + interval '24 hours',
               jsonb_build_object(
                   'title', 'Afterglow',
                   'body', 'A patient who shares with you needs your attention. Open Afterglow to see it.',
                   'url', '/clinician',
                   'tag', 'patient-attention'),
               'high', now()
          FROM raised_now r
        ON CONFLICT DO NOTHING
    ), mailed AS (
        INSERT INTO public.mail_outbox (user_id, kind, recipient, stale_at)
        SELECT r.clinician_id, 'alert', u.email, now() + interval '24 hours'
          FROM raised_now r JOIN public.users u ON u.id = r.clinician_id
    )
    SELECT count(*) INTO raised FROM raised_now;
    RETURN raised;
END
$$;
REVOKE ALL ON FUNCTION afterglow_raise_alert(uuid, text, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION afterglow_raise_alert(uuid, text, date, text) TO afterglow_app;

DROP POLICY alert_clinicians ON push_outbox;
