-- The clinic: a care team with roles, team shares, invitations, clinic settings and requests to
-- the clinic (issue 15).
--
-- * A clinic has members (clinician accounts) holding one or more roles: admin, prescriber,
--   nurse, front_desk. What each role may do is one table in server/domain/clinic.py; the rows of
--   clinic_role_rights below are the part of it the database enforces (which patients' rows a
--   member's request may see or write), and tests/api/test_clinic_rights.py holds the two equal.
-- * A patient shares with a clinic (clinic_shares) as well as with one clinician (shares). A
--   team share lets every member reach the patient as far as their roles allow; revoking it
--   (revoked_at) ends every member's access at their next query, as a withdrawn share does.
-- * Row-level security covers team shares: each policy of 0009/0015 that admits a clinician with
--   an active share gets a sibling policy admitting the members of a sharing clinic whose roles
--   grant the right, through afterglow_team_patients (SECURITY DEFINER: a member's request cannot
--   read clinic_shares of other clinics). Permissive policies add up, so 0009's stay as they are.
-- * Every clinician account becomes the admin and prescriber of a one-person clinic named after
--   them, so a single doctor has settings and an inbox as a team does.
-- * Invitations are single-use and expire; only a token's SHA-256 is kept. A member invitation's
--   token is minted by the mail worker as it writes the email (like a reset link); a patient
--   invitation's is shown once to the staff member who made it (a link and a QR code).

CREATE TABLE clinics (
    id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                      text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    -- Settings; null: the environment's default (AFTERGLOW_CLINIC_PHONE, ..._ALERT_EMAIL).
    phone                     text CHECK (length(phone) <= 40),
    country                   text NOT NULL DEFAULT 'US' CHECK (country IN ('US', 'CA', 'GB', 'other')),
    emergency_number          text CHECK (length(emergency_number) <= 20),
    pre_session_instructions  text CHECK (length(pre_session_instructions) <= 4000),
    checkin_time              time,      -- daily check-in reminder for patients who join
    day_before_reminder       boolean NOT NULL DEFAULT true,
    two_hours_reminder        boolean NOT NULL DEFAULT true,
    evening_after_reminder    boolean NOT NULL DEFAULT true,
    on_call_email             text CHECK (length(on_call_email) <= 320),
    created_at                timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE clinic_members (
    clinic_id     uuid NOT NULL REFERENCES clinics (id) ON DELETE CASCADE,
    clinician_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    roles         text[] NOT NULL CHECK (cardinality(roles) >= 1
                      AND roles <@ ARRAY['admin', 'prescriber', 'nurse', 'front_desk']),
    joined_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clinic_id, clinician_id)
);
CREATE INDEX clinic_members_clinician ON clinic_members (clinician_id);

-- Which role grants which database-level right (server/domain/clinic.py holds the full table).
CREATE TABLE clinic_role_rights (
    role   text NOT NULL,
    right_ text NOT NULL,
    PRIMARY KEY (role, right_)
);
INSERT INTO clinic_role_rights (role, right_) VALUES
    ('prescriber', 'clinical'), ('nurse', 'clinical'),
    ('prescriber', 'schedule'), ('nurse', 'schedule'), ('front_desk', 'schedule'),
    ('admin', 'schedule'),
    ('prescriber', 'schedule_write'), ('nurse', 'schedule_write'), ('front_desk', 'schedule_write'),
    ('prescriber', 'alerts'), ('nurse', 'alerts'),
    ('prescriber', 'appointment'), ('nurse', 'appointment'), ('front_desk', 'appointment'),
    ('prescriber', 'medication'), ('nurse', 'medication'),
    ('admin', 'members');

CREATE TABLE clinic_shares (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    clinic_id   uuid NOT NULL REFERENCES clinics (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),   -- the patient's consent
    revoked_at  timestamptz
);
CREATE UNIQUE INDEX clinic_shares_active ON clinic_shares (clinic_id, patient_id)
    WHERE revoked_at IS NULL;
CREATE INDEX clinic_shares_patient ON clinic_shares (patient_id, created_at);

CREATE TABLE clinic_invitations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id   uuid NOT NULL REFERENCES clinics (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('member', 'patient')),
    email       text CHECK (length(email) <= 320),       -- a member's
    roles       text[] CHECK (roles <@ ARRAY['admin', 'prescriber', 'nurse', 'front_desk']),
    token_hash  bytea UNIQUE,                            -- null until a member's mail is written
    invited_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    used_by     uuid,
    CHECK ((kind = 'member') = (email IS NOT NULL AND roles IS NOT NULL))
);
CREATE INDEX clinic_invitations_clinic ON clinic_invitations (clinic_id, created_at DESC);
CREATE INDEX clinic_invitations_email ON clinic_invitations (lower(email)) WHERE used_at IS NULL;

CREATE TABLE clinic_requests (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    clinic_id        uuid NOT NULL REFERENCES clinics (id) ON DELETE CASCADE,
    patient_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN ('appointment', 'medication')),
    message          text NOT NULL CHECK (length(message) BETWEEN 1 AND 1000),
    preferred_times  text CHECK (length(preferred_times) <= 200),
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'done')),
    reply            text CHECK (length(reply) <= 2000),
    replied_by       uuid,
    replied_by_name  text,
    replied_at       timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clinic_requests_inbox ON clinic_requests (clinic_id, created_at DESC);
CREATE INDEX clinic_requests_patient ON clinic_requests (patient_id, created_at DESC);

-- --- who a member's request may reach ---------------------------------------------------------
-- The patients sharing with a clinic of which this request's clinician is a member with a role
-- granting ``wanted``. Policies test ``patient_id IN (SELECT unnest(afterglow_team_patients(..)))``:
-- a hashed subplan, run once per query; ``= ANY ((SELECT ...)::uuid[])`` searched the whole
-- array for every row read (a 5,000-patient team page: 125 ms, hashed 38 ms).
CREATE FUNCTION afterglow_team_patients(wanted text) RETURNS uuid[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RETURN coalesce((
        SELECT array_agg(DISTINCT cs.patient_id)
          FROM public.clinic_members m
          JOIN public.clinic_shares cs ON cs.clinic_id = m.clinic_id AND cs.revoked_at IS NULL
         WHERE m.clinician_id = (SELECT afterglow_clinician())
           AND m.roles && ARRAY(SELECT r.role FROM public.clinic_role_rights r
                                 WHERE r.right_ = wanted)), '{}');
END
$$;

-- The clinics this request's clinician belongs to (with a role granting ``wanted``, or any).
CREATE FUNCTION afterglow_my_clinics(wanted text) RETURNS uuid[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RETURN coalesce((
        SELECT array_agg(m.clinic_id) FROM public.clinic_members m
         WHERE m.clinician_id = (SELECT afterglow_clinician())
           AND (wanted IS NULL OR m.roles && ARRAY(SELECT r.role FROM public.clinic_role_rights r
                                                    WHERE r.right_ = wanted))), '{}');
END
$$;

-- The clinics this request's patient shares with now.
CREATE FUNCTION afterglow_patient_clinics() RETURNS uuid[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RETURN coalesce((
        SELECT array_agg(cs.clinic_id) FROM public.clinic_shares cs
         WHERE cs.patient_id = (SELECT afterglow_patient()) AND cs.revoked_at IS NULL), '{}');
END
$$;

-- The members of the clinics this request's clinician belongs to (colleagues' names).
CREATE FUNCTION afterglow_colleagues() RETURNS uuid[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RETURN coalesce((
        SELECT array_agg(DISTINCT o.clinician_id)
          FROM public.clinic_members m JOIN public.clinic_members o ON o.clinic_id = m.clinic_id
         WHERE m.clinician_id = (SELECT afterglow_clinician())), '{}');
END
$$;

-- --- row-level security ---------------------------------------------------------------------
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['clinics', 'clinic_members', 'clinic_role_rights', 'clinic_shares',
                             'clinic_invitations', 'clinic_requests'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY owner_all ON %I TO %I USING (true)', t, CURRENT_USER);
    END LOOP;
END
$$;
REVOKE ALL ON clinics, clinic_members, clinic_role_rights, clinic_shares, clinic_invitations,
    clinic_requests FROM PUBLIC, afterglow_app;
GRANT SELECT ON clinics, clinic_members, clinic_role_rights, clinic_shares, clinic_invitations,
    clinic_requests TO afterglow_app;
GRANT UPDATE (name, phone, country, emergency_number, pre_session_instructions, checkin_time,
              day_before_reminder, two_hours_reminder, evening_after_reminder, on_call_email)
    ON clinics TO afterglow_app;
GRANT UPDATE (roles), DELETE ON clinic_members TO afterglow_app;
GRANT UPDATE (revoked_at) ON clinic_shares TO afterglow_app;
GRANT INSERT, UPDATE (used_at, used_by, expires_at) ON clinic_invitations TO afterglow_app;
GRANT INSERT, UPDATE (status, reply, replied_by, replied_by_name, replied_at, updated_at)
    ON clinic_requests TO afterglow_app;

CREATE POLICY everyone ON clinic_role_rights FOR SELECT TO afterglow_app USING (true);

-- A clinic: its members read it, its admins change its settings; its patients read it (its
-- name and phone with the crisis resources; a withdrawn share's too, for the access log).
CREATE POLICY members ON clinics FOR SELECT TO afterglow_app
    USING (id = ANY ((SELECT afterglow_my_clinics(NULL))::uuid[])
           OR EXISTS (SELECT FROM clinic_shares cs
                       WHERE cs.clinic_id = clinics.id
                         AND cs.patient_id = (SELECT afterglow_patient())));
CREATE POLICY admins ON clinics FOR UPDATE TO afterglow_app
    USING (id = ANY ((SELECT afterglow_my_clinics('members'))::uuid[]))
    WITH CHECK (id = ANY ((SELECT afterglow_my_clinics('members'))::uuid[]));

CREATE POLICY members ON clinic_members FOR SELECT TO afterglow_app
    USING (clinic_id = ANY ((SELECT afterglow_my_clinics(NULL))::uuid[]));
CREATE POLICY admins_update ON clinic_members FOR UPDATE TO afterglow_app
    USING (clinic_id = ANY ((SELECT afterglow_my_clinics('members'))::uuid[]))
    WITH CHECK (clinic_id = ANY ((SELECT afterglow_my_clinics('members'))::uuid[]));
CREATE POLICY admins_delete ON clinic_members FOR DELETE TO afterglow_app
    USING (clinic_id = ANY ((SELECT afterglow_my_clinics('members'))::uuid[]));

-- Team shares: the patient's own (and withdrawing them); the clinic's members see theirs.
-- A team share starts only through afterglow_consent_to_clinic.
CREATE POLICY own ON clinic_shares FOR SELECT TO afterglow_app
    USING (patient_id = (SELECT afterglow_patient())
           OR (revoked_at IS NULL AND clinic_id = ANY ((SELECT afterglow_my_clinics(NULL))::uuid[])));
CREATE POLICY withdraw ON clinic_shares FOR UPDATE TO afterglow_app
    USING (patient_id = (SELECT afterglow_patient()))
    WITH CHECK (patient_id = (SELECT afterglow_patient()) AND revoked_at IS NOT NULL);

-- Invitations: admins make and see member invitations; every member who may write the schedule
-- makes patient invitations (staff hand them out at the consultation).
CREATE POLICY staff ON clinic_invitations FOR SELECT TO afterglow_app
    USING (clinic_id = ANY ((SELECT afterglow_my_clinics(
               CASE WHEN kind = 'member' THEN 'members' ELSE 'schedule_write' END))::uuid[]));
CREATE POLICY staff_insert ON clinic_invitations FOR INSERT TO afterglow_app
    WITH CHECK (invited_by = (SELECT afterglow_clinician()) AND used_at IS NULL
                AND (token_hash IS NOT NULL) = (kind = 'patient')
                AND clinic_id = ANY ((SELECT afterglow_my_clinics(
                    CASE WHEN kind = 'member' THEN 'members' ELSE 'schedule_write' END))::uuid[]));
CREATE POLICY staff_update ON clinic_invitations FOR UPDATE TO afterglow_app
    USING (clinic_id = ANY ((SELECT afterglow_my_clinics(
               CASE WHEN kind = 'member' THEN 'members' ELSE 'schedule_write' END))::uuid[]))
    WITH CHECK (clinic_id = ANY ((SELECT afterglow_my_clinics(
               CASE WHEN kind = 'member' THEN 'members' ELSE 'schedule_write' END))::uuid[]));

-- Requests: the patient's own, sent only to a clinic they share with; the members whose roles
-- take that kind of request read and answer them.
CREATE POLICY own ON clinic_requests FOR SELECT TO afterglow_app
    USING (patient_id = (SELECT afterglow_patient()));
CREATE POLICY send ON clinic_requests FOR INSERT TO afterglow_app
    WITH CHECK (patient_id = (SELECT afterglow_patient()) AND status = 'open' AND reply IS NULL
                AND clinic_id = ANY ((SELECT afterglow_patient_clinics())::uuid[]));
CREATE POLICY inbox ON clinic_requests FOR SELECT TO afterglow_app
    USING (clinic_id = ANY ((SELECT afterglow_my_clinics(kind))::uuid[])
           AND patient_id IN (SELECT unnest(afterglow_team_patients(kind))));
CREATE POLICY answer ON clinic_requests FOR UPDATE TO afterglow_app
    USING (clinic_id = ANY ((SELECT afterglow_my_clinics(kind))::uuid[])
           AND patient_id IN (SELECT unnest(afterglow_team_patients(kind))))
    WITH CHECK (clinic_id = ANY ((SELECT afterglow_my_clinics(kind))::uuid[]));

-- The patient's data under a team share: 0009's policies admit a clinician with a share of their
-- own; these admit a member whose roles grant the right.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['checkins', 'assessments'] LOOP
        EXECUTE format('CREATE POLICY team_scope ON %I TO afterglow_app '
                       'USING (patient_id IN (SELECT unnest(afterglow_team_patients(''clinical'')))) '
                       'WITH CHECK (patient_id IN (SELECT unnest(afterglow_team_patients(''clinical''))))', t);
    END LOOP;
    -- The schedule, and what a change of it re-plans: the patient's reminders and sync cursor.
    FOREACH t IN ARRAY ARRAY['infusions', 'sync_counters', 'reminder_prefs'] LOOP
        EXECUTE format('CREATE POLICY team_read ON %I FOR SELECT TO afterglow_app '
                       'USING (patient_id IN (SELECT unnest(afterglow_team_patients(''schedule''))))', t);
        EXECUTE format('CREATE POLICY team_write ON %I TO afterglow_app '
                       'USING (patient_id IN (SELECT unnest(afterglow_team_patients(''schedule_write'')))) '
                       'WITH CHECK (patient_id IN (SELECT unnest(afterglow_team_patients(''schedule_write''))))', t);
    END LOOP;
END
$$;
CREATE POLICY team_read ON push_outbox FOR SELECT TO afterglow_app
    USING (user_id IN (SELECT unnest(afterglow_team_patients('schedule'))));
CREATE POLICY team_write ON push_outbox TO afterglow_app
    USING (user_id IN (SELECT unnest(afterglow_team_patients('schedule_write'))))
    WITH CHECK (user_id IN (SELECT unnest(afterglow_team_patients('schedule_write'))));
-- Whether reminders can reach the patient: read when a change of the schedule re-plans them.
CREATE POLICY team_scope ON push_subscriptions FOR SELECT TO afterglow_app
    USING (user_id IN (SELECT unnest(afterglow_team_patients('clinical')))
           OR user_id IN (SELECT unnest(afterglow_team_patients('schedule_write'))));
CREATE POLICY team_scope ON push_attempts FOR SELECT TO afterglow_app
    USING (user_id IN (SELECT unnest(afterglow_team_patients('clinical'))));
-- Accounts: a member sees the clinic's patients and colleagues; a patient sees who answered.
CREATE POLICY team_scope ON users FOR SELECT TO afterglow_app
    USING (id IN (SELECT unnest(afterglow_team_patients('schedule')))
           OR id IN (SELECT unnest(afterglow_team_patients('appointment')))
           OR id = ANY ((SELECT afterglow_colleagues())::uuid[]));
CREATE POLICY team_acts ON audit_events FOR INSERT TO afterglow_app
    WITH CHECK (actor_id = (SELECT afterglow_clinician())
                AND (patient_id IN (SELECT unnest(afterglow_team_patients('schedule')))
                     OR patient_id IN (SELECT unnest(afterglow_team_patients('appointment')))));
CREATE POLICY team_alerts ON alerts FOR SELECT TO afterglow_app
    USING (clinician_id = (SELECT afterglow_clinician())
           AND patient_id IN (SELECT unnest(afterglow_team_patients('alerts'))));
CREATE POLICY team_acknowledge ON alerts FOR UPDATE TO afterglow_app
    USING (clinician_id = (SELECT afterglow_clinician())
           AND patient_id IN (SELECT unnest(afterglow_team_patients('alerts'))))
    WITH CHECK (acknowledged_at IS NOT NULL AND acknowledged_by = (SELECT afterglow_clinician()));

-- --- steps on rows the caller cannot see yet --------------------------------------------------
-- A patient invitation as a signed-in patient sees it before consenting: the clinic's name and
-- id; no row for a token unknown, used or expired.
CREATE FUNCTION afterglow_patient_invitation(token_hash bytea)
RETURNS TABLE (clinic_id uuid, clinic_name text, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT c.id, c.name, i.expires_at
      FROM public.clinic_invitations i JOIN public.clinics c ON c.id = i.clinic_id
     WHERE i.token_hash = $1 AND i.kind = 'patient' AND i.used_at IS NULL
       AND i.expires_at > now()
$$;

-- Consent: the invitation used up and the team share started, for the signed-in patient only.
-- Returns the share; null for a token unknown, used or expired.
CREATE FUNCTION afterglow_consent_to_clinic(token_hash bytea) RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    patient uuid := (SELECT afterglow_patient());
    invitation public.clinic_invitations;
    share uuid;
BEGIN
    IF patient IS NULL THEN
        RAISE EXCEPTION 'only a signed-in patient consents' USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE public.clinic_invitations i SET used_at = now(), used_by = patient
     WHERE i.token_hash = afterglow_consent_to_clinic.token_hash AND i.kind = 'patient'
       AND i.used_at IS NULL AND i.expires_at > now()
    RETURNING * INTO invitation;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT cs.id INTO share FROM public.clinic_shares cs
     WHERE cs.clinic_id = invitation.clinic_id AND cs.patient_id = patient
       AND cs.revoked_at IS NULL;
    IF share IS NULL THEN
        INSERT INTO public.clinic_shares (patient_id, clinic_id)
        VALUES (patient, invitation.clinic_id) RETURNING id INTO share;
    END IF;
    RETURN share;
END
$$;

-- A member invitation as the invitee's page sees it (clinic, address, roles).
CREATE FUNCTION afterglow_member_invitation(token_hash bytea)
RETURNS TABLE (clinic_name text, email text, roles text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT c.name, i.email, i.roles
      FROM public.clinic_invitations i JOIN public.clinics c ON c.id = i.clinic_id
     WHERE i.token_hash = $1 AND i.kind = 'member' AND i.used_at IS NULL
       AND i.expires_at > now()
$$;

-- Joining: a new clinician account for the invited address (or, when that address has a
-- clinician account already, that account, signed in on this request) made a member with the
-- invitation's roles, the invitation used up. Returns the account; no row for a token unknown,
-- used or expired; an error for an address that has an account of someone else.
CREATE FUNCTION afterglow_join_clinic(invite_hash bytea, new_password_hash text, new_name text,
                                      new_timezone text)
RETURNS TABLE (id uuid, email text, role text, display_name text, timezone text,
               clinic_phone text, created_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    invitation public.clinic_invitations;
    account public.users;
BEGIN
    UPDATE public.clinic_invitations i SET used_at = now()
     WHERE i.token_hash = invite_hash AND i.kind = 'member'
       AND i.used_at IS NULL AND i.expires_at > now()
    RETURNING * INTO invitation;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT * INTO account FROM public.users u WHERE lower(u.email) = lower(invitation.email);
    IF FOUND AND account.id IS DISTINCT FROM (SELECT afterglow_clinician()) THEN
        RAISE EXCEPTION 'the address has another account' USING ERRCODE = 'unique_violation';
    END IF;
    IF NOT FOUND THEN
        INSERT INTO public.users (email, role, password_hash, display_name, timezone,
                                  email_verified_at)
        VALUES (invitation.email, 'clinician', new_password_hash,
                new_name, new_timezone, now())
        RETURNING * INTO account;
    END IF;
    UPDATE public.clinic_invitations i SET used_by = account.id WHERE i.id = invitation.id;
    INSERT INTO public.clinic_members (clinic_id, clinician_id, roles)
    VALUES (invitation.clinic_id, account.id, invitation.roles)
    ON CONFLICT (clinic_id, clinician_id) DO UPDATE
        SET roles = ARRAY(SELECT DISTINCT unnest(clinic_members.roles || EXCLUDED.roles));
    RETURN QUERY SELECT account.id, account.email, account.role, account.display_name,
                        account.timezone, account.clinic_phone, account.created_at;
END
$$;

-- A member invitation's mail as the worker writes it: the newest pending invitation of that
-- address gets the token's hash (the worker runs as the owner; no EXECUTE for the app).
CREATE FUNCTION afterglow_mint_invitation(recipient text, token_hash bytea) RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    UPDATE public.clinic_invitations i SET token_hash = $2
      FROM public.clinics c
     WHERE c.id = i.clinic_id AND i.id = (
               SELECT j.id FROM public.clinic_invitations j
                WHERE lower(j.email) = lower($1) AND j.kind = 'member' AND j.used_at IS NULL
                  AND j.expires_at > now()
                ORDER BY j.created_at DESC LIMIT 1)
    RETURNING c.name
$$;

-- A member invitation's mail, queued by the admin's request (mail_outbox is the worker's).
CREATE FUNCTION afterglow_queue_invitation(invitation uuid) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    INSERT INTO public.mail_outbox (user_id, kind, recipient, stale_at)
    SELECT NULL, 'member_invitation', i.email, i.expires_at
      FROM public.clinic_invitations i
     WHERE i.id = $1 AND i.kind = 'member' AND i.used_at IS NULL
       AND (i.clinic_id = ANY ((SELECT afterglow_my_clinics('members'))::uuid[])
            OR session_user = current_user)
$$;

-- Which clinic and kind a request is, for a member of that clinic whatever their roles (so a
-- role that may not read its kind is told 403, not 404), while its patient shares with it.
CREATE FUNCTION afterglow_request_kind(request uuid) RETURNS TABLE (clinic_id uuid, kind text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT r.clinic_id, r.kind FROM public.clinic_requests r
     WHERE r.id = $1 AND r.clinic_id = ANY ((SELECT afterglow_my_clinics(NULL))::uuid[])
       AND EXISTS (SELECT FROM public.clinic_shares cs
                    WHERE cs.clinic_id = r.clinic_id AND cs.patient_id = r.patient_id
                      AND cs.revoked_at IS NULL)
$$;

-- A request to the clinic: a neutral email to each member whose roles take its kind.
CREATE FUNCTION afterglow_notify_request(request uuid) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    queued integer;
BEGIN
    INSERT INTO public.mail_outbox (user_id, kind, recipient, stale_at)
    SELECT u.id, 'clinic_request', u.email, now() + interval '24 hours'
      FROM public.clinic_requests r
      JOIN public.clinic_members m ON m.clinic_id = r.clinic_id
      JOIN public.users u ON u.id = m.clinician_id
     WHERE r.id = $1
       AND (r.patient_id = (SELECT afterglow_patient()) OR session_user = current_user)
       AND m.roles && ARRAY(SELECT x.role FROM public.clinic_role_rights x WHERE x.right_ = r.kind);
    GET DIAGNOSTICS queued = ROW_COUNT;
    RETURN queued;
END
$$;

-- Alerts under a team share too: one per recipient, the team's prescribers and nurses as well
-- as every clinician with a share of their own (0015's function, with the team added).
CREATE OR REPLACE FUNCTION afterglow_raise_alert(alert_patient uuid, alert_kind text,
                                                 alert_day date, alert_detail text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    raised integer;
BEGIN
    IF NOT (alert_patient = (SELECT afterglow_patient())
            OR EXISTS (SELECT FROM public.shares s
                        WHERE s.patient_id = alert_patient
                          AND s.clinician_id = (SELECT afterglow_clinician())
                          AND s.revoked_at IS NULL)
            OR alert_patient IN (SELECT unnest(afterglow_team_patients('clinical')))
            OR session_user = current_user) THEN
        RAISE EXCEPTION 'a request raises alerts only about its own patient'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    WITH recipients AS (
        SELECT s.clinician_id FROM public.shares s
         WHERE s.patient_id = alert_patient AND s.clinician_id IS NOT NULL
           AND s.revoked_at IS NULL
        UNION
        SELECT m.clinician_id
          FROM public.clinic_shares cs JOIN public.clinic_members m ON m.clinic_id = cs.clinic_id
         WHERE cs.patient_id = alert_patient AND cs.revoked_at IS NULL
           AND m.roles && ARRAY(SELECT r.role FROM public.clinic_role_rights r
                                 WHERE r.right_ = 'alerts')
    ), raised_now AS (
        INSERT INTO public.alerts AS a (patient_id, clinician_id, kind, local_day, detail)
        SELECT alert_patient, r.clinician_id, alert_kind, alert_day, alert_detail
          FROM recipients r
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

REVOKE ALL ON FUNCTION afterglow_team_patients(text), afterglow_my_clinics(text),
    afterglow_patient_clinics(), afterglow_colleagues(), afterglow_patient_invitation(bytea),
    afterglow_consent_to_clinic(bytea), afterglow_member_invitation(bytea),
    afterglow_join_clinic(bytea, text, text, text), afterglow_mint_invitation(text, bytea),
    afterglow_queue_invitation(uuid), afterglow_notify_request(uuid),
    afterglow_request_kind(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION afterglow_team_patients(text), afterglow_my_clinics(text),
    afterglow_patient_clinics(), afterglow_colleagues(), afterglow_patient_invitation(bytea),
    afterglow_consent_to_clinic(bytea), afterglow_member_invitation(bytea),
    afterglow_join_clinic(bytea, text, text, text), afterglow_queue_invitation(uuid),
    afterglow_notify_request(uuid), afterglow_request_kind(uuid) TO afterglow_app;

-- --- every clinician so far: the admin and prescriber of a one-person clinic ------------------
DO $$
DECLARE
    c record;
    clinic uuid;
BEGIN
    FOR c IN SELECT u.id, u.display_name FROM users u WHERE u.role = 'clinician' LOOP
        INSERT INTO clinics (name) VALUES (left(c.display_name, 120)) RETURNING id INTO clinic;
        INSERT INTO clinic_members (clinic_id, clinician_id, roles)
        VALUES (clinic, c.id, ARRAY['admin', 'prescriber']);
    END LOOP;
END
$$;
