-- Row-level security that holds against a hostile statement, not only a forgotten WHERE.
--
-- Migration 0008 bound the app's queries with policies, but the grant they read was a setting
-- any statement could widen (set_config('afterglow.patients', '*', false)), the app reached its
-- role by SET ROLE (so RESET ROLE returned to the owner), the owner was not bound (no FORCE),
-- and accounts, sessions, shares, the audit trail and the push tables had no policy at all.
-- Decisions, from here on:
--
-- * Two roles. Whoever runs the migrations (DATABASE_URL) owns the tables. App requests log in
--   as afterglow_app (AFTERGLOW_APP_DATABASE_URL; outside production the app derives it from
--   DATABASE_URL by swapping the user, which works where local connections are trusted, as on a
--   developer's PostgreSQL and the embedded one). afterglow_app is not a superuser, has no
--   BYPASSRLS, CREATEROLE or CREATEDB, and is not a member of the owner: neither SET ROLE nor
--   RESET ROLE takes it anywhere. This migration makes it a LOGIN role when it may; in production
--   the operator makes it, with a password, before migrating (README, "Running in production").
-- * FORCE ROW LEVEL SECURITY on every table of patient or user data, the owner included. The
--   owner's policy (owner_all) lets it see every row: the migrator, the reminder worker and the
--   operator commands connect as the owner for their cross-patient work, and the SECURITY
--   DEFINER functions below run as the owner. Nothing a request can say widens what it sees.
-- * The grant lives in request_grants, one row per server process (backend) keyed by its pid
--   and its start time (pids are reused; a row left by a process that ended never matches a new
--   one), which afterglow_app may neither read nor write. Only afterglow_open_request (a session
--   token's hash: the signed-in user) and afterglow_start_session (sign-up and sign-in) write
--   it; the pool clears it when a connection is given back (afterglow_close_request). A request
--   sees its user's own rows and, for a clinician, the rows of every patient with an active
--   share with them, checked against shares (a probe of shares_active_pair per row, or the
--   clinician's active shares hashed once per query, as the planner finds cheaper): no
--   per-patient grant, so a list of 500 patients costs no 500-row grant, and a revocation holds
--   at the next query.
-- * Before any grant, a request may only: sign a patient up (afterglow_sign_up), read one
--   account's credentials by email (afterglow_credentials) and start a session for an account
--   whose current password hash it gives (afterglow_start_session). The app checks the password
--   in Python (argon2id), so the database cannot: a statement that knows an account's email can
--   start a session for it, as the sign-in form can. It cannot list accounts to find one.
-- * Every policy reads the grant through uncorrelated sub-selects ((SELECT afterglow_user())),
--   so each lookup runs once per query (an InitPlan), not once per row.
-- * login_failures (keyed by a hash of an email or an address, tied to no account) and
--   schema_migrations hold no patient data and stay without row-level security.

-- --- the role the app logs in as ------------------------------------------------------------
DO $$
DECLARE
    app pg_roles;
BEGIN
    SELECT * INTO app FROM pg_roles WHERE rolname = 'afterglow_app';
    IF NOT FOUND THEN
        CREATE ROLE afterglow_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        GRANT afterglow_app TO CURRENT_USER;
    ELSIF NOT app.rolcanlogin THEN
        ALTER ROLE afterglow_app LOGIN;
    END IF;
    SELECT * INTO app FROM pg_roles WHERE rolname = 'afterglow_app';
    IF app.rolsuper OR app.rolbypassrls OR app.rolcreaterole OR app.rolcreatedb THEN
        RAISE EXCEPTION 'afterglow_app must have no SUPERUSER, BYPASSRLS, CREATEROLE or CREATEDB';
    END IF;
    IF pg_has_role('afterglow_app', CURRENT_USER, 'MEMBER') THEN
        RAISE EXCEPTION 'afterglow_app must not be a member of %, the tables'' owner', CURRENT_USER;
    END IF;
END
$$;
-- A schema anyone may write to would let a statement plant objects for the owner's functions.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- --- the grant: one row per backend, written only by the functions below ---------------------
-- UNLOGGED: a grant never outlives its backend, and a crash (which truncates the table) ends
-- every backend anyway; two writes a request without WAL.
CREATE UNLOGGED TABLE request_grants (
    pid           integer NOT NULL,
    started       timestamptz NOT NULL,
    patient_id    uuid,   -- the signed-in patient
    clinician_id  uuid,   -- or the signed-in clinician
    PRIMARY KEY (pid, started),
    CHECK (patient_id IS NULL OR clinician_id IS NULL)
);
REVOKE ALL ON request_grants FROM PUBLIC, afterglow_app;
ALTER TABLE request_grants ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_all ON request_grants TO %I USING (true)', CURRENT_USER);
END
$$;

-- Who this backend's request is. Each is STABLE and called as (SELECT f()): once per query.
-- PL/pgSQL, not SQL: its plan is kept for the session, where a SQL function's body would be
-- planned again in every query (measured: ~0.1 ms against ~0.5 ms a query).
CREATE FUNCTION afterglow_patient() RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RETURN (SELECT g.patient_id FROM public.request_grants g
             WHERE g.pid = pg_backend_pid()
               AND g.started = (SELECT a.backend_start
                                  FROM pg_stat_get_activity(pg_backend_pid()) a));
END
$$;

CREATE FUNCTION afterglow_clinician() RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RETURN (SELECT g.clinician_id FROM public.request_grants g
             WHERE g.pid = pg_backend_pid()
               AND g.started = (SELECT a.backend_start
                                  FROM pg_stat_get_activity(pg_backend_pid()) a));
END
$$;

CREATE FUNCTION afterglow_user() RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RETURN (SELECT coalesce(g.patient_id, g.clinician_id) FROM public.request_grants g
             WHERE g.pid = pg_backend_pid()
               AND g.started = (SELECT a.backend_start
                                  FROM pg_stat_get_activity(pg_backend_pid()) a));
END
$$;

-- Internal (no EXECUTE for the app): make this backend's request ``account``'s, or nobody's.
CREATE FUNCTION afterglow_grant_backend(account uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    backend integer := pg_backend_pid();
    since timestamptz := (SELECT a.backend_start FROM pg_stat_get_activity(pg_backend_pid()) a);
    kind text := (SELECT u.role FROM public.users u WHERE u.id = account);
BEGIN
    UPDATE public.request_grants g
       SET patient_id = CASE WHEN kind = 'patient' THEN account END,
           clinician_id = CASE WHEN kind = 'clinician' THEN account END
     WHERE g.pid = backend AND g.started = since;
    IF NOT FOUND THEN
        -- This backend's first grant. Away with rows of backends that ended: any other row of
        -- this pid (an earlier process), and rows of pids no longer running that started before
        -- this backend (a later one may have committed its row after our view of the running
        -- processes was taken).
        DELETE FROM public.request_grants g
         WHERE (g.pid = backend AND g.started <> since)
            OR (g.started < since AND g.pid NOT IN (
                    SELECT a.pid FROM pg_stat_get_activity(NULL) a WHERE a.pid IS NOT NULL));
        INSERT INTO public.request_grants (pid, started, patient_id, clinician_id)
        VALUES (backend, since, CASE WHEN kind = 'patient' THEN account END,
                CASE WHEN kind = 'clinician' THEN account END);
    END IF;
END
$$;

-- The session lookup of every signed-in request: the user of a live session (refreshing its
-- last_seen_at at most once a minute), and this backend's grant made theirs. A token that is
-- unknown, ended or expired returns no row and leaves the backend with no grant.
CREATE FUNCTION afterglow_open_request(token_hash bytea)
RETURNS TABLE (id uuid, email text, role text, display_name text, timezone text,
               clinic_phone text, created_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    account uuid;
    seen timestamptz;
BEGIN
    SELECT s.user_id, s.last_seen_at INTO account, seen
      FROM public.sessions s
     WHERE s.token_hash = afterglow_open_request.token_hash
       AND s.expires_at > now() AND s.last_seen_at + s.idle_timeout > now();
    IF seen < now() - interval '60 seconds' THEN
        UPDATE public.sessions s SET last_seen_at = now()
         WHERE s.token_hash = afterglow_open_request.token_hash;
    END IF;
    PERFORM afterglow_grant_backend(account);
    RETURN QUERY
        SELECT u.id, u.email, u.role, u.display_name, u.timezone, u.clinic_phone, u.created_at
          FROM public.users u WHERE u.id = account;
END
$$;

-- When the pool takes a connection back: the next request on it starts with no grant.
CREATE FUNCTION afterglow_close_request() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    UPDATE public.request_grants g SET patient_id = NULL, clinician_id = NULL
     WHERE g.pid = pg_backend_pid()
       AND g.started = (SELECT a.backend_start FROM pg_stat_get_activity(pg_backend_pid()) a)
       AND (g.patient_id IS NOT NULL OR g.clinician_id IS NOT NULL);
END
$$;

-- --- before any grant: sign-up and sign-in --------------------------------------------------
CREATE FUNCTION afterglow_sign_up(email text, password_hash text, display_name text,
                                  timezone text)
RETURNS TABLE (id uuid, email text, role text, display_name text, timezone text,
               clinic_phone text, created_at timestamptz)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    INSERT INTO public.users (email, role, password_hash, display_name, timezone)
    VALUES ($1, 'patient', $2, $3, $4)
    RETURNING id, email, role, display_name, timezone, clinic_phone, created_at
$$;

CREATE FUNCTION afterglow_credentials(email text)
RETURNS TABLE (id uuid, email text, role text, display_name text, timezone text,
               clinic_phone text, created_at timestamptz, password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT u.id, u.email, u.role, u.display_name, u.timezone, u.clinic_phone, u.created_at,
           u.password_hash
      FROM public.users u WHERE lower(u.email) = lower($1)
$$;

-- A new session for an account whose current password hash the caller gives (it has just
-- checked the password against it), and this backend's grant made that account's. False, and
-- nothing written, for any other hash.
CREATE FUNCTION afterglow_start_session(token_hash bytea, account uuid, password_hash text,
                                        idle_timeout interval, expires_at timestamptz)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM public.users u
                    WHERE u.id = account
                      AND u.password_hash = afterglow_start_session.password_hash) THEN
        RETURN false;
    END IF;
    INSERT INTO public.sessions (token_hash, user_id, idle_timeout, expires_at)
    VALUES ($1, account, $4, $5);
    PERFORM afterglow_grant_backend(account);
    RETURN true;
END
$$;

-- --- steps that act on rows the caller cannot see yet -----------------------------------------
-- Each acts for the signed-in user of this backend's request; a caller logged in as the owner
-- itself (operator commands, the demo) may act for anyone.

-- A clinician binds a share code: only the code's owner-held hash finds the pending share.
CREATE FUNCTION afterglow_accept_share(code_hash bytea, clinician uuid) RETURNS uuid
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    UPDATE public.shares s SET clinician_id = $2, accepted_at = now()
     WHERE s.code_hash = $1 AND s.accepted_at IS NULL AND s.revoked_at IS NULL
       AND s.expires_at > now() AND s.patient_id <> $2
       AND ($2 = (SELECT afterglow_clinician()) OR session_user = current_user)
    RETURNING s.id
$$;

-- A device (push endpoint) moves to the account now signed in on it when the same keys come
-- with it (store/push.py save_subscription): the row may be another account's, which the
-- caller may not otherwise see or change. No row when it stays where it is.
CREATE FUNCTION afterglow_save_device(account uuid, endpoint text, p256dh text, auth text)
RETURNS TABLE (id uuid, user_id uuid, endpoint text, created_at timestamptz, created boolean)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    INSERT INTO public.push_subscriptions AS d (user_id, endpoint, p256dh, auth)
    SELECT $1, $2, $3, $4
     WHERE $1 = (SELECT afterglow_user()) OR session_user = current_user
    ON CONFLICT (endpoint) DO UPDATE SET
        user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth,
        failures_in_row = 0
     WHERE d.user_id = EXCLUDED.user_id OR (d.p256dh, d.auth) = (EXCLUDED.p256dh, EXCLUDED.auth)
    RETURNING d.id, d.user_id, d.endpoint, d.created_at, (d.xmax = 0)
$$;

-- Migration 0008's functions: the temporary schema last, so no temporary table shadows a table.
ALTER FUNCTION entry_key_checkins(uuid, uuid) SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION entry_key_assessments(uuid, uuid) SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION entry_key_infusions(uuid, uuid) SET search_path = pg_catalog, public, pg_temp;

REVOKE ALL ON FUNCTION afterglow_patient(), afterglow_clinician(), afterglow_user(),
    afterglow_grant_backend(uuid), afterglow_open_request(bytea), afterglow_close_request(),
    afterglow_sign_up(text, text, text, text), afterglow_credentials(text),
    afterglow_start_session(bytea, uuid, text, interval, timestamptz),
    afterglow_accept_share(bytea, uuid), afterglow_save_device(uuid, text, text, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION afterglow_patient(), afterglow_clinician(), afterglow_user(),
    afterglow_open_request(bytea), afterglow_close_request(),
    afterglow_sign_up(text, text, text, text), afterglow_credentials(text),
    afterglow_start_session(bytea, uuid, text, interval, timestamptz),
    afterglow_accept_share(bytea, uuid), afterglow_save_device(uuid, text, text, text)
    TO afterglow_app;

-- --- the policies ---------------------------------------------------------------------------
-- 0008's policies read the forgeable settings: gone, with the function that parsed them.
DROP POLICY patient_scope ON checkins;
DROP POLICY patient_scope ON assessments;
DROP POLICY patient_scope ON infusions;
DROP POLICY patient_scope ON sync_counters;
DROP FUNCTION afterglow_granted();

DO $$
DECLARE
    t text;
    -- A row about user %1$s (a column of table %2$s) is visible to that user's request and to
    -- the request of a clinician with an active share of theirs (one index probe).
    scope constant text := $q$(%1$s = (SELECT afterglow_user())
        OR EXISTS (SELECT FROM shares s
                    WHERE s.clinician_id = (SELECT afterglow_clinician())
                      AND s.patient_id = %2$I.%1$s AND s.revoked_at IS NULL))$q$;
    own constant text := '(%1$s = (SELECT afterglow_user()))';
    tables constant text[] := ARRAY['checkins', 'assessments', 'infusions', 'sync_counters',
        'reminder_prefs', 'users', 'sessions', 'shares', 'audit_events', 'push_subscriptions',
        'push_outbox', 'push_attempts'];
BEGIN
    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY owner_all ON %I TO %I USING (true)', t, CURRENT_USER);
    END LOOP;

    -- The log and what belongs to it: the patient, and their clinicians (who also record
    -- infusions, which re-plans the patient's reminders).
    FOREACH t IN ARRAY ARRAY['checkins', 'assessments', 'infusions', 'sync_counters',
                             'reminder_prefs'] LOOP
        EXECUTE format('CREATE POLICY request_scope ON %I TO afterglow_app USING (%s) '
                       'WITH CHECK (%s)', t, format(scope, 'patient_id', t),
                       format(scope, 'patient_id', t));
    END LOOP;

    -- Accounts: one's own, a clinician's patients, and a patient's clinicians (on any of the
    -- patient's shares: their export names withdrawn ones too). Sign-up is afterglow_sign_up;
    -- a role never changes (trigger below).
    EXECUTE format($p$CREATE POLICY request_scope ON users FOR SELECT TO afterglow_app
        USING (%s OR EXISTS (SELECT FROM shares s
                              WHERE s.patient_id = (SELECT afterglow_patient())
                                AND s.clinician_id = users.id))$p$, format(scope, 'id', 'users'));
    EXECUTE format('CREATE POLICY own_update ON users FOR UPDATE TO afterglow_app USING (%s) '
                   'WITH CHECK (%s)', format(own, 'id'), format(own, 'id'));
    EXECUTE format('CREATE POLICY own_delete ON users FOR DELETE TO afterglow_app USING (%s)',
                   format(own, 'id'));

    -- Sessions: one's own (sign-out, password change); new ones come from
    -- afterglow_start_session.
    EXECUTE format('CREATE POLICY own_sessions ON sessions FOR SELECT TO afterglow_app '
                   'USING (%s)', format(own, 'user_id'));
    EXECUTE format('CREATE POLICY own_delete ON sessions FOR DELETE TO afterglow_app USING (%s)',
                   format(own, 'user_id'));
    EXECUTE format('CREATE POLICY own_update ON sessions FOR UPDATE TO afterglow_app USING (%s) '
                   'WITH CHECK (%s)', format(own, 'user_id'), format(own, 'user_id'));

    -- Devices: one's own; a clinician reads whether reminders reach their patients.
    EXECUTE format('CREATE POLICY request_scope ON push_subscriptions FOR SELECT TO afterglow_app '
                   'USING (%s)', format(scope, 'user_id', 'push_subscriptions'));
    EXECUTE format('CREATE POLICY own_delete ON push_subscriptions FOR DELETE TO afterglow_app '
                   'USING (%s)', format(own, 'user_id'));
    EXECUTE format('CREATE POLICY own_update ON push_subscriptions FOR UPDATE TO afterglow_app '
                   'USING (%s) WITH CHECK (%s)', format(own, 'user_id'), format(own, 'user_id'));
    EXECUTE format('CREATE POLICY own_insert ON push_subscriptions FOR INSERT TO afterglow_app '
                   'WITH CHECK (%s)', format(own, 'user_id'));
    EXECUTE format('CREATE POLICY request_scope ON push_attempts FOR SELECT TO afterglow_app '
                   'USING (%s)', format(scope, 'user_id', 'push_attempts'));

    -- The outbox: the patient's reminders (planned by their requests and their clinicians'),
    -- and one thing more a patient's request may add: an alert about them to a clinician who
    -- shares with them (services/alerts.py: kind and occurrence below), which it may not read
    -- back.
    EXECUTE format('CREATE POLICY request_scope ON push_outbox TO afterglow_app USING (%s) '
                   'WITH CHECK (%s)', format(scope, 'user_id', 'push_outbox'),
                   format(scope, 'user_id', 'push_outbox'));
END
$$;

CREATE POLICY alert_clinicians ON push_outbox FOR INSERT TO afterglow_app
    WITH CHECK (kind = 'patient_attention'
                AND occurrence LIKE (SELECT afterglow_patient())::text || ':%'
                AND EXISTS (SELECT FROM shares s
                             WHERE s.patient_id = (SELECT afterglow_patient())
                               AND s.clinician_id = push_outbox.user_id
                               AND s.revoked_at IS NULL));

-- Shares: a patient's own (a new code, a withdrawal); a clinician's active ones. A patient's
-- change can only withdraw: a share it writes is revoked (accepting is afterglow_accept_share).
CREATE POLICY request_scope ON shares FOR SELECT TO afterglow_app
    USING (patient_id = (SELECT afterglow_patient())
           OR (clinician_id = (SELECT afterglow_clinician()) AND revoked_at IS NULL));
CREATE POLICY new_code ON shares FOR INSERT TO afterglow_app
    WITH CHECK (patient_id = (SELECT afterglow_patient()) AND clinician_id IS NULL
                AND accepted_at IS NULL AND revoked_at IS NULL);
CREATE POLICY withdraw ON shares FOR UPDATE TO afterglow_app
    USING (patient_id = (SELECT afterglow_patient()))
    WITH CHECK (patient_id = (SELECT afterglow_patient()) AND revoked_at IS NOT NULL);

-- The audit trail: a patient reads who saw their data; a request writes rows of its own acts,
-- about no patient or one in its scope.
CREATE POLICY access_log ON audit_events FOR SELECT TO afterglow_app
    USING (patient_id = (SELECT afterglow_patient()));
CREATE POLICY own_acts ON audit_events FOR INSERT TO afterglow_app
    WITH CHECK (actor_id = (SELECT afterglow_user())
                AND (patient_id IS NULL
                     OR patient_id = (SELECT afterglow_user())
                     OR EXISTS (SELECT FROM shares s
                                 WHERE s.clinician_id = (SELECT afterglow_clinician())
                                   AND s.patient_id = audit_events.patient_id
                                   AND s.revoked_at IS NULL)));

-- A patient's request may change its own account, but never into a clinician's.
CREATE FUNCTION users_role_is_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'an account''s role never changes' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER users_role_is_fixed BEFORE UPDATE OF role ON users
    FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role)
    EXECUTE FUNCTION users_role_is_fixed();
