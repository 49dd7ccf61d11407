-- Second factors (TOTP and recovery codes), the two-step sign-in, re-authentication, and secrets
-- kept out of the app role's reach.
--
-- * A session is either signed in or waiting for its second factor (second_factor_pending).
--   A password (or anything standing in for it) opens a waiting session for an account that has
--   a second factor: it lives ten minutes, grants the backend nothing, and becomes a signed-in
--   session, under a new token, only with a right code (afterglow_pass_second_factor).
--   Whether an account has a second factor is afterglow_has_second_factor, the one place a new
--   kind of factor (a passkey) is added.
-- * reauthenticated_at: when the session's owner last proved who they are (signing in, or a
--   password or code typed again). Deleting the account, changing the password and removing a
--   second factor ask that it be recent (services/reauthentication.py).
-- * TOTP secrets and the hashes of recovery codes are in tables the app role has no privilege
--   on. A request reaches them only through the functions below, and each of those acts for
--   the session whose token (the cookie's value, never stored: only its SHA-256 is) it is
--   given. A statement that knows no session token, whatever it may read or run, learns no
--   secret and uses no code: tokens exist only in the browsers that hold them.
-- * The app role may not read users.password_hash (row-level security hides rows, not
--   columns: a clinician's request could read its patients' hashes): SELECT is granted column
--   by column, on every other column. A migration that adds a column to users grants SELECT on
--   it to afterglow_app, or the app cannot read it. Sign-in reads a hash through
--   afterglow_credentials (migrations/0009); a signed-in check of the password through
--   afterglow_password_hash, for the session's own account.
-- * The app role may no longer write sessions (only delete its own): starting, upgrading,
--   rotating and marking them are the functions' work, so no statement can mark its own
--   session re-authenticated or past its second factor.

-- --- sessions -------------------------------------------------------------------------------
ALTER TABLE sessions
    ADD COLUMN second_factor_pending boolean NOT NULL DEFAULT false,
    ADD COLUMN reauthenticated_at timestamptz;
UPDATE sessions SET reauthenticated_at = created_at;
ALTER TABLE sessions ALTER COLUMN reauthenticated_at SET NOT NULL,
                     ALTER COLUMN reauthenticated_at SET DEFAULT now();
REVOKE INSERT, UPDATE ON sessions FROM afterglow_app;

-- --- the factors ------------------------------------------------------------------------------
CREATE TABLE totp_factors (
    user_id       uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret        text NOT NULL,          -- base32, as the authenticator app holds it
    confirmed_at  timestamptz,            -- null: enrolment begun, no right code seen yet
    last_step     bigint NOT NULL DEFAULT 0,  -- the newest 30-second step a code was taken for
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE recovery_codes (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,            -- SHA-256 of an 80-bit random code
    used_at    timestamptz,               -- a code works once
    PRIMARY KEY (user_id, code_hash)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['totp_factors', 'recovery_codes'] LOOP
        EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, afterglow_app', t);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY owner_all ON %I TO %I USING (true)', t, CURRENT_USER);
    END LOOP;
END
$$;

-- --- users.password_hash: every other column, one by one --------------------------------------
REVOKE SELECT ON users FROM afterglow_app;
DO $$
DECLARE
    readable text;
BEGIN
    SELECT string_agg(quote_ident(c.column_name), ', ' ORDER BY c.ordinal_position)
      INTO readable
      FROM information_schema.columns c
     WHERE c.table_schema = 'public' AND c.table_name = 'users'
       AND c.column_name <> 'password_hash';
    EXECUTE format('GRANT SELECT (%s) ON users TO afterglow_app', readable);
END
$$;

-- --- internal: not for the app role ---------------------------------------------------------
-- Whether ``account`` signs in in two steps. A later migration adding a kind of second factor
-- replaces this function (CREATE OR REPLACE) with one that counts it too.
CREATE FUNCTION afterglow_has_second_factor(account uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT EXISTS (SELECT FROM public.totp_factors f
                    WHERE f.user_id = $1 AND f.confirmed_at IS NOT NULL)
$$;

-- The live session a cookie token names (its hash is what is stored), of either kind.
CREATE FUNCTION afterglow_session_of(token text) RETURNS public.sessions
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT s.* FROM public.sessions s
     WHERE s.token_hash = sha256(convert_to($1, 'UTF8'))
       AND s.expires_at > now() AND s.last_seen_at + s.idle_timeout > now()
$$;

-- --- starting and looking up sessions ---------------------------------------------------------
-- A new session for an account whose current password hash the caller gives (it has just
-- checked the password against it): 'signed_in', this backend's grant made the account's; or,
-- for an account with a second factor, 'second_factor', a session waiting for it that grants
-- nothing and lives ten minutes. Null, and nothing written, for any other hash.
CREATE FUNCTION afterglow_begin_session(token_hash bytea, account uuid, password_hash text,
                                        idle_timeout interval, expires_at timestamptz)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM public.users u
                    WHERE u.id = account
                      AND u.password_hash = afterglow_begin_session.password_hash) THEN
        RETURN NULL;
    END IF;
    IF afterglow_has_second_factor(account) THEN
        INSERT INTO public.sessions (token_hash, user_id, idle_timeout, expires_at,
                                     second_factor_pending)
        VALUES ($1, account, least($4, interval '10 minutes'),
                least($5, now() + interval '10 minutes'), true);
        PERFORM afterglow_grant_backend(NULL);
        RETURN 'second_factor';
    END IF;
    INSERT INTO public.sessions (token_hash, user_id, idle_timeout, expires_at)
    VALUES ($1, account, $4, $5);
    PERFORM afterglow_grant_backend(account);
    RETURN 'signed_in';
END
$$;

-- 0009's, kept for what calls it: the same, answering whether a session was started at all.
CREATE OR REPLACE FUNCTION afterglow_start_session(token_hash bytea, account uuid,
                                                   password_hash text, idle_timeout interval,
                                                   expires_at timestamptz)
RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT afterglow_begin_session($1, $2, $3, $4, $5) IS NOT NULL
$$;

-- The session lookup of every request, now telling how the session stands: the account, whether
-- it has a second factor, whether this session still waits for it (then the backend is granted
-- nothing, whatever the session), and when its owner last proved who they are.
DROP FUNCTION afterglow_open_request(bytea);
CREATE FUNCTION afterglow_open_request(token_hash bytea)
RETURNS TABLE (id uuid, email text, role text, display_name text, timezone text,
               clinic_phone text, created_at timestamptz, second_factor boolean,
               second_factor_pending boolean, reauthenticated_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    live public.sessions;
BEGIN
    SELECT s.* INTO live
      FROM public.sessions s
     WHERE s.token_hash = afterglow_open_request.token_hash
       AND s.expires_at > now() AND s.last_seen_at + s.idle_timeout > now();
    IF live.last_seen_at < now() - interval '60 seconds' THEN
        UPDATE public.sessions s SET last_seen_at = now()
         WHERE s.token_hash = afterglow_open_request.token_hash;
    END IF;
    PERFORM afterglow_grant_backend(CASE WHEN NOT live.second_factor_pending
                                         THEN live.user_id END);
    RETURN QUERY
        SELECT u.id, u.email, u.role, u.display_name, u.timezone, u.clinic_phone, u.created_at,
               afterglow_has_second_factor(u.id), live.second_factor_pending,
               live.reauthenticated_at
          FROM public.users u WHERE u.id = live.user_id;
END
$$;

-- Sign-out, of a signed-in session or one waiting for its second factor (which has no grant
-- to delete its own row with).
CREATE FUNCTION afterglow_end_session(token text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    DELETE FROM public.sessions s WHERE s.token_hash = sha256(convert_to($1, 'UTF8'))
$$;

-- A signed-in session under a new token (a password change), the old token dead. Returns when
-- the session ends; null for a token that names no live signed-in session.
CREATE FUNCTION afterglow_rotate_session(token text, new_token_hash bytea) RETURNS timestamptz
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    UPDATE public.sessions s SET token_hash = $2
     WHERE s.token_hash = (afterglow_session_of($1)).token_hash AND NOT s.second_factor_pending
    RETURNING s.expires_at
$$;

-- The owner of a signed-in session proved who they are again (the caller has just checked a
-- password, a code or a passkey).
CREATE FUNCTION afterglow_reauthenticated(token text) RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    UPDATE public.sessions s SET reauthenticated_at = now()
     WHERE s.token_hash = (afterglow_session_of($1)).token_hash AND NOT s.second_factor_pending
    RETURNING true
$$;

-- The current password hash of a signed-in session's account, for checking a password typed
-- again (re-authentication, a password change).
CREATE FUNCTION afterglow_password_hash(token text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT u.password_hash FROM public.users u
     WHERE u.id = (SELECT s.user_id FROM afterglow_session_of($1) s
                    WHERE NOT s.second_factor_pending)
$$;

-- --- TOTP -------------------------------------------------------------------------------------
-- What the session's account has: its TOTP secret (a signed-in session gets one still being
-- enrolled too; a waiting one only a confirmed one), the newest step taken, and the recovery
-- codes left. No row without a session or a factor.
CREATE FUNCTION afterglow_totp_of(token text)
RETURNS TABLE (user_id uuid, secret text, confirmed boolean, last_step bigint,
               recovery_codes_left integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT f.user_id, f.secret, f.confirmed_at IS NOT NULL, f.last_step,
           (SELECT count(*)::integer FROM public.recovery_codes c
             WHERE c.user_id = f.user_id AND c.used_at IS NULL)
      FROM afterglow_session_of($1) s
      JOIN public.totp_factors f ON f.user_id = s.user_id
     WHERE NOT s.second_factor_pending OR f.confirmed_at IS NOT NULL
$$;

-- Enrolment begins: ``secret`` is the signed-in account's TOTP secret to be, replacing one not
-- confirmed. False, and nothing changed, where a confirmed one exists (it is removed first).
CREATE FUNCTION afterglow_begin_totp(token text, secret text) RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    INSERT INTO public.totp_factors AS f (user_id, secret)
    SELECT s.user_id, $2 FROM afterglow_session_of($1) s WHERE NOT s.second_factor_pending
    ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, created_at = now(),
                                        last_step = 0
     WHERE f.confirmed_at IS NULL
    RETURNING true
$$;

-- Enrolment confirmed with the code of ``step``: the factor is the account's from now on, with
-- these recovery codes (any earlier ones go), and every other session of the account, signed in
-- with the password alone, ends. False for a session without a factor being enrolled, or a step
-- not newer than one taken.
CREATE FUNCTION afterglow_confirm_totp(token text, step bigint, code_hashes bytea[])
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    mine public.sessions := afterglow_session_of(token);
BEGIN
    IF mine.token_hash IS NULL OR mine.second_factor_pending THEN
        RETURN false;
    END IF;
    UPDATE public.totp_factors f SET confirmed_at = now(), last_step = step
     WHERE f.user_id = mine.user_id AND f.confirmed_at IS NULL AND f.last_step < step;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    DELETE FROM public.recovery_codes c WHERE c.user_id = mine.user_id;
    INSERT INTO public.recovery_codes (user_id, code_hash)
    SELECT mine.user_id, h FROM unnest(code_hashes) h;
    DELETE FROM public.sessions s
     WHERE s.user_id = mine.user_id AND s.token_hash <> mine.token_hash;
    RETURN true;
END
$$;

-- A code used by the session's account, once: a TOTP code of ``step`` (only a step newer than
-- the last one taken, so a code seen once, or an older one, is refused) or a recovery code.
CREATE FUNCTION afterglow_use_code(account uuid, step bigint, recovery_code_hash bytea)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF step IS NOT NULL THEN
        UPDATE public.totp_factors f SET last_step = step
         WHERE f.user_id = account AND f.confirmed_at IS NOT NULL AND f.last_step < step;
    ELSE
        UPDATE public.recovery_codes c SET used_at = now()
         WHERE c.user_id = account AND c.code_hash = recovery_code_hash AND c.used_at IS NULL;
    END IF;
    RETURN FOUND;
END
$$;

-- The second step of a sign-in: a waiting session and a right code (see afterglow_use_code)
-- make a signed-in session under a new token, the waiting one gone, this backend's grant the
-- account's. Returns the account; no row, and nothing changed, otherwise.
CREATE FUNCTION afterglow_pass_second_factor(token text, new_token_hash bytea,
                                             idle_timeout interval, expires_at timestamptz,
                                             step bigint, recovery_code_hash bytea)
RETURNS TABLE (id uuid, email text, role text, display_name text, timezone text,
               clinic_phone text, created_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    waiting public.sessions := afterglow_session_of(token);
BEGIN
    IF waiting.token_hash IS NULL OR NOT waiting.second_factor_pending
       OR NOT afterglow_use_code(waiting.user_id, step, recovery_code_hash) THEN
        RETURN;
    END IF;
    DELETE FROM public.sessions s WHERE s.token_hash = waiting.token_hash;
    INSERT INTO public.sessions (token_hash, user_id, idle_timeout, expires_at)
    VALUES (new_token_hash, waiting.user_id, $3, $4);
    PERFORM afterglow_grant_backend(waiting.user_id);
    RETURN QUERY
        SELECT u.id, u.email, u.role, u.display_name, u.timezone, u.clinic_phone, u.created_at
          FROM public.users u WHERE u.id = waiting.user_id;
END
$$;

-- Re-authentication with a code: the signed-in session's account uses one (afterglow_use_code)
-- and the session counts as re-authenticated now.
CREATE FUNCTION afterglow_reauthenticate_with_code(token text, step bigint,
                                                   recovery_code_hash bytea) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    mine public.sessions := afterglow_session_of(token);
BEGIN
    IF mine.token_hash IS NULL OR mine.second_factor_pending
       OR NOT afterglow_use_code(mine.user_id, step, recovery_code_hash) THEN
        RETURN false;
    END IF;
    UPDATE public.sessions s SET reauthenticated_at = now()
     WHERE s.token_hash = mine.token_hash;
    RETURN true;
END
$$;

-- The signed-in account's TOTP factor and recovery codes removed. False where it had none.
CREATE FUNCTION afterglow_remove_totp(token text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    mine public.sessions := afterglow_session_of(token);
BEGIN
    IF mine.token_hash IS NULL OR mine.second_factor_pending THEN
        RETURN false;
    END IF;
    DELETE FROM public.recovery_codes c WHERE c.user_id = mine.user_id;
    DELETE FROM public.totp_factors f WHERE f.user_id = mine.user_id;
    RETURN FOUND;
END
$$;

REVOKE ALL ON FUNCTION afterglow_has_second_factor(uuid), afterglow_session_of(text),
    afterglow_begin_session(bytea, uuid, text, interval, timestamptz),
    afterglow_open_request(bytea), afterglow_end_session(text),
    afterglow_rotate_session(text, bytea), afterglow_reauthenticated(text),
    afterglow_password_hash(text), afterglow_totp_of(text), afterglow_begin_totp(text, text),
    afterglow_confirm_totp(text, bigint, bytea[]), afterglow_use_code(uuid, bigint, bytea),
    afterglow_pass_second_factor(text, bytea, interval, timestamptz, bigint, bytea),
    afterglow_reauthenticate_with_code(text, bigint, bytea), afterglow_remove_totp(text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION afterglow_begin_session(bytea, uuid, text, interval, timestamptz),
    afterglow_open_request(bytea), afterglow_end_session(text),
    afterglow_rotate_session(text, bytea), afterglow_reauthenticated(text),
    afterglow_password_hash(text), afterglow_totp_of(text), afterglow_begin_totp(text, text),
    afterglow_confirm_totp(text, bigint, bytea[]),
    afterglow_pass_second_factor(text, bytea, interval, timestamptz, bigint, bytea),
    afterglow_reauthenticate_with_code(text, bigint, bytea), afterglow_remove_totp(text)
    TO afterglow_app;

-- A wrong code at the second step of a sign-in goes in the account's trail like a wrong
-- password (migrations/0012): the waiting session has no grant to write it as its own act.
CREATE OR REPLACE FUNCTION afterglow_note_sign_in(account uuid, action text, address text)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    INSERT INTO public.audit_events (patient_id, actor_id, actor_role, actor_name, action,
                                     address, detail)
    SELECT CASE WHEN u.role = 'patient' THEN u.id END, NULL, 'unknown', 'Someone', $2, $3,
           jsonb_build_object('account', u.id)
      FROM public.users u
     WHERE u.id = $1 AND $2 IN ('sign_in_failed', 'sign_in_blocked', 'second_factor_failed')
$$;
