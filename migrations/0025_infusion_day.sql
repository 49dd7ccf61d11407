-- Infusion day (issue 16): treatment courses, what happens in the chair, the day-before
-- checklist and the companion who drives the patient home.
--
-- * A course's sessions are rows of infusions with its id (infusions.course_id), so sync,
--   reminders and the schedule keep working as they do. A log write never sets the column
--   (server/domain/logbook.py, ``kept``): a session the patient moves stays in its course.
-- * Every new table carries patient_id and is visible under the same rule as the log (the
--   patient, and a clinician with an active share), FORCEd like the others.
-- * A companion is not an account: their link is read and answered only through the definer
--   functions at the bottom, by the SHA-256 of its token, and says nothing about health.

CREATE TABLE courses (
    id                uuid PRIMARY KEY,
    patient_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind              text NOT NULL CHECK (kind IN ('induction', 'maintenance', 'reinduction')),
    drug              text NOT NULL
                      CHECK (drug IN ('iv_ketamine', 'intranasal_esketamine', 'im_ketamine')),
    sessions          smallint NOT NULL CHECK (sessions BETWEEN 1 AND 26),
    every_days        smallint NOT NULL CHECK (every_days BETWEEN 1 AND 90),
    first_at          timestamptz NOT NULL,
    duration_minutes  smallint NOT NULL,
    planned_by        uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX courses_patient ON courses (patient_id, first_at);

ALTER TABLE infusions ADD COLUMN course_id uuid REFERENCES courses (id) ON DELETE SET NULL;
CREATE INDEX infusions_course ON infusions (course_id) WHERE course_id IS NOT NULL;

-- One record per session, written by the clinic on the tablet in the infusion room.
CREATE TABLE session_records (
    infusion_id       uuid PRIMARY KEY REFERENCES infusions (id) ON DELETE CASCADE,
    patient_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    drug              text NOT NULL,
    started_at        timestamptz,
    ended_at          timestamptz,
    weight_kg         float8,
    dose_mg_per_kg    float8,
    dose_mg           float8,
    -- {"before": {systolic, diastolic, heart_rate, at?}, "during": ..., "discharge": ...}
    vitals            jsonb NOT NULL DEFAULT '{}'::jsonb,
    dissociation      smallint CHECK (dissociation BETWEEN 0 AND 10),
    feeling           smallint CHECK (feeling BETWEEN 0 AND 10),
    feeling_note      text,
    adverse_events    jsonb NOT NULL DEFAULT '[]'::jsonb,
    discharged_at     timestamptz,
    left_with         text,
    recorded_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_records_patient ON session_records (patient_id);

-- The day before: how the patient gets home, and anything they want the clinic to know.
CREATE TABLE session_checklists (
    infusion_id       uuid PRIMARY KEY REFERENCES infusions (id) ON DELETE CASCADE,
    patient_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ride              text NOT NULL CHECK (ride IN ('none', 'person', 'rideshare')),
    instructions_read boolean NOT NULL DEFAULT false,
    message           text,
    home_safely       boolean,  -- the patient's answer the day after
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_checklists_patient ON session_checklists (patient_id);

CREATE TABLE companion_links (
    id                uuid PRIMARY KEY,
    infusion_id       uuid NOT NULL REFERENCES infusions (id) ON DELETE CASCADE,
    patient_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name              text NOT NULL,
    email             text NOT NULL,
    clinic            text NOT NULL,  -- the clinic's name as the link was made (the question)
    -- SHA-256 of the link's token, minted by the worker as it writes the email (as for
    -- account links, migrations/0013): the token in clear is never stored.
    token_hash        bytea UNIQUE,
    outbox_id         bigint,
    expires_at        timestamptz NOT NULL,
    revoked_at        timestamptz,
    answer            text CHECK (answer IN ('yes', 'no')),
    answered_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((answer IS NULL) = (answered_at IS NULL))
);
CREATE INDEX companion_links_infusion ON companion_links (infusion_id);
CREATE INDEX companion_links_outbox ON companion_links (outbox_id) WHERE outbox_id IS NOT NULL;

DO $$
DECLARE
    t text;
    scope constant text := $q$(patient_id = (SELECT afterglow_user())
        OR EXISTS (SELECT FROM shares s
                    WHERE s.clinician_id = (SELECT afterglow_clinician())
                      AND s.patient_id = %1$I.patient_id AND s.revoked_at IS NULL))$q$;
BEGIN
    FOREACH t IN ARRAY ARRAY['courses', 'session_records', 'session_checklists',
                             'companion_links'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY owner_all ON %I TO %I USING (true)', t, CURRENT_USER);
        EXECUTE format('CREATE POLICY request_scope ON %I TO afterglow_app USING (%s) '
                       'WITH CHECK (%s)', t, format(scope, t), format(scope, t));
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO afterglow_app', t);
    END LOOP;
END
$$;
-- Under a clinic's team share (migrations/0023, where it is applied): the plan and the chair
-- record are clinical (prescribers and nurses); the checklist and the companion's answer are
-- part of the schedule (the front desk sees "ride: confirmed by Ana"), read only.
DO $$
DECLARE
    t text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_proc WHERE proname = 'afterglow_team_patients') THEN
        RETURN;
    END IF;
    FOREACH t IN ARRAY ARRAY['courses', 'session_records'] LOOP
        EXECUTE format('CREATE POLICY team_scope ON %I TO afterglow_app '
                       'USING (patient_id IN (SELECT unnest(afterglow_team_patients(''clinical'')))) '
                       'WITH CHECK (patient_id IN (SELECT unnest(afterglow_team_patients(''clinical''))))', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['session_checklists', 'companion_links'] LOOP
        EXECUTE format('CREATE POLICY team_read ON %I FOR SELECT TO afterglow_app '
                       'USING (patient_id IN (SELECT unnest(afterglow_team_patients(''schedule''))))', t);
    END LOOP;
END
$$;

-- The token's hash is the worker's business: a request never reads it back.
REVOKE SELECT (token_hash) ON companion_links FROM afterglow_app;
REVOKE SELECT ON companion_links FROM afterglow_app;
GRANT SELECT (id, infusion_id, patient_id, name, email, clinic, outbox_id, expires_at,
              revoked_at, answer, answered_at, created_at) ON companion_links TO afterglow_app;

-- The patient asks their companion: one neutral email to the address they gave, written by
-- the worker (server/services/companions.py). Only the patient's own live link, once.
CREATE FUNCTION afterglow_ask_companion(link uuid, stale_after interval) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    queued bigint;
BEGIN
    INSERT INTO public.mail_outbox (user_id, kind, recipient, stale_at)
    SELECT NULL, 'companion_request', c.email, least(now() + $2, c.expires_at)
      FROM public.companion_links c
     WHERE c.id = $1 AND c.patient_id = (SELECT afterglow_user())
       AND c.revoked_at IS NULL AND c.outbox_id IS NULL AND c.expires_at > now()
    RETURNING id INTO queued;
    IF queued IS NOT NULL THEN
        UPDATE public.companion_links SET outbox_id = queued WHERE id = $1;
    END IF;
    RETURN queued;
END
$$;

-- What the companion's page shows: the patient's first name, when, and where things stand.
-- Nothing else of the patient's leaves this function.
CREATE FUNCTION afterglow_companion_request(token bytea)
RETURNS TABLE (state text, companion text, patient text, clinic text,
               scheduled_at timestamptz, timezone text, answer text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT CASE WHEN c.revoked_at IS NOT NULL THEN 'revoked'
                WHEN c.expires_at <= now() THEN 'expired'
                WHEN c.answer IS NOT NULL THEN 'answered'
                ELSE 'open' END,
           c.name, split_part(u.display_name, ' ', 1), c.clinic, i.scheduled_at, u.timezone,
           c.answer
      FROM public.companion_links c
      JOIN public.users u ON u.id = c.patient_id
      JOIN public.infusions i ON i.id = c.infusion_id AND NOT i.deleted
     WHERE c.token_hash = $1
$$;

-- The companion's yes or no: once, on a live link. The outcome, never the patient's data.
CREATE FUNCTION afterglow_companion_answer(token bytea, reply text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    found_state text;
BEGIN
    IF reply NOT IN ('yes', 'no') THEN
        RAISE EXCEPTION 'an answer is yes or no' USING ERRCODE = 'check_violation';
    END IF;
    UPDATE public.companion_links SET answer = reply, answered_at = now()
     WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now() AND answer IS NULL;
    IF FOUND THEN
        RETURN 'answered';
    END IF;
    SELECT CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
                WHEN expires_at <= now() THEN 'expired'
                ELSE 'already' END
      INTO found_state FROM public.companion_links WHERE token_hash = $1;
    RETURN coalesce(found_state, 'unknown');
END
$$;

REVOKE ALL ON FUNCTION afterglow_ask_companion(uuid, interval),
    afterglow_companion_request(bytea), afterglow_companion_answer(bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION afterglow_ask_companion(uuid, interval),
    afterglow_companion_request(bytea), afterglow_companion_answer(bytea, text) TO afterglow_app;
