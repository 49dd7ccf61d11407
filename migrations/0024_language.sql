-- The language a person reads Afterglow in: 'en' or 'es' (issue 18). Pages, push reminders and
-- emails follow it; a clinician's pages follow the clinician's own. Existing accounts read
-- English, as before.
--
-- * users.language is readable by the app role like every other column but password_hash
--   (migrations/0017 grants SELECT column by column).
-- * A questionnaire records the language its questions were shown in (assessments.language,
--   null for those stored before): answers and scores do not depend on it, the FHIR export
--   says it. Row security is per row, so the new column is under the same policies.
-- * Sign-up takes it (a five-argument afterglow_sign_up beside the old one), and the session
--   lookup of every request returns it, so a page knows its reader's language without a query.

ALTER TABLE users
    ADD COLUMN language text NOT NULL DEFAULT 'en',
    ADD CONSTRAINT users_language_known CHECK (language IN ('en', 'es'));

GRANT SELECT (language) ON users TO afterglow_app;

ALTER TABLE assessments
    ADD COLUMN language text,
    ADD CONSTRAINT assessments_language_known CHECK (language IN ('en', 'es'));

CREATE FUNCTION afterglow_sign_up(email text, password_hash text, display_name text,
                                  timezone text, language text)
RETURNS TABLE (id uuid, email text, role text, display_name text, timezone text,
               clinic_phone text, created_at timestamptz, language text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    INSERT INTO public.users (email, role, password_hash, display_name, timezone, language)
    VALUES ($1, 'patient', $2, $3, $4, $5)
    RETURNING id, email, role, display_name, timezone, clinic_phone, created_at, language
$$;

REVOKE ALL ON FUNCTION afterglow_sign_up(text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION afterglow_sign_up(text, text, text, text, text) TO afterglow_app;

-- As in migrations/0017, with the account's language last.
DROP FUNCTION afterglow_open_request(bytea);
CREATE FUNCTION afterglow_open_request(token_hash bytea)
RETURNS TABLE (id uuid, email text, role text, display_name text, timezone text,
               clinic_phone text, created_at timestamptz, second_factor boolean,
               second_factor_pending boolean, reauthenticated_at timestamptz, language text)
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
               live.reauthenticated_at, u.language
          FROM public.users u WHERE u.id = live.user_id;
END
$$;

REVOKE ALL ON FUNCTION afterglow_open_request(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION afterglow_open_request(bytea) TO afterglow_app;

-- Sign-in answers with the account (POST /auth/login and its other ways in): the same
-- functions as before (0009, 0017, 0018), with the account's language last.
DROP FUNCTION afterglow_credentials(text);
CREATE FUNCTION afterglow_credentials(email text)
RETURNS TABLE (id uuid, email text, role text, display_name text, timezone text,
               clinic_phone text, created_at timestamptz, password_hash text, language text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT u.id, u.email, u.role, u.display_name, u.timezone, u.clinic_phone, u.created_at,
           u.password_hash, u.language
      FROM public.users u WHERE lower(u.email) = lower($1)
$$;

DROP FUNCTION afterglow_pass_second_factor(text, bytea, interval, timestamptz, bigint, bytea);
CREATE FUNCTION afterglow_pass_second_factor(token text, new_token_hash bytea,
                                             idle_timeout interval, expires_at timestamptz,
                                             step bigint, recovery_code_hash bytea)
RETURNS TABLE (id uuid, email text, role text, display_name text, timezone text,
               clinic_phone text, created_at timestamptz, language text)
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
        SELECT u.id, u.email, u.role, u.display_name, u.timezone, u.clinic_phone, u.created_at,
               u.language
          FROM public.users u WHERE u.id = waiting.user_id;
END
$$;

DROP FUNCTION afterglow_use_sign_in_link(bytea);
CREATE FUNCTION afterglow_use_sign_in_link(token_hash bytea)
RETURNS TABLE (id uuid, email text, role text, display_name text, timezone text,
               clinic_phone text, created_at timestamptz, password_hash text, language text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    WITH used AS (
        UPDATE public.account_tokens t SET used_at = now()
         WHERE t.token_hash = $1 AND t.purpose = 'sign_in' AND t.used_at IS NULL
           AND t.expires_at > now()
        RETURNING t.user_id)
    UPDATE public.users u SET email_verified_at = coalesce(u.email_verified_at, now())
      FROM used WHERE u.id = used.user_id
    RETURNING u.id, u.email, u.role, u.display_name, u.timezone, u.clinic_phone, u.created_at,
              u.password_hash, u.language
$$;

DROP FUNCTION afterglow_passkey_session(bytea, bigint, bytea, interval, timestamptz);
CREATE FUNCTION afterglow_passkey_session(credential_id bytea, sign_count bigint,
                                          token_hash bytea, idle_timeout interval,
                                          expires_at timestamptz)
RETURNS TABLE (id uuid, email text, role text, display_name text, timezone text,
               clinic_phone text, created_at timestamptz, language text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    account uuid := afterglow_passkey_used($1, $2);
BEGIN
    IF account IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO public.sessions (token_hash, user_id, idle_timeout, expires_at,
                                 second_factor_pending, reauthenticated_at)
    VALUES ($3, account, $4, $5, false, now());
    PERFORM afterglow_grant_backend(account);
    RETURN QUERY
        SELECT u.id, u.email, u.role, u.display_name, u.timezone, u.clinic_phone, u.created_at,
               u.language
          FROM public.users u WHERE u.id = account;
END
$$;

REVOKE ALL ON FUNCTION afterglow_credentials(text),
    afterglow_pass_second_factor(text, bytea, interval, timestamptz, bigint, bytea),
    afterglow_use_sign_in_link(bytea),
    afterglow_passkey_session(bytea, bigint, bytea, interval, timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION afterglow_credentials(text),
    afterglow_pass_second_factor(text, bytea, interval, timestamptz, bigint, bytea),
    afterglow_use_sign_in_link(bytea),
    afterglow_passkey_session(bytea, bigint, bytea, interval, timestamptz)
    TO afterglow_app;
