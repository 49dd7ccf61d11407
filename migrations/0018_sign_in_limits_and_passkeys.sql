-- Sign-in throttling that cannot be used to lock someone out, the sign-in link a locked account
-- is mailed, and passkeys (WebAuthn).
--
-- * Sign-in attempts are counted per key (an account, an address, and the pair of them) in one
--   row each, before the password is checked: the row is locked while the attempt is counted
--   and the rules decide (services/throttle.py), so concurrent guesses queue on it and a burst
--   gets no more tries than the same guesses one by one. Keys are the HMAC of what was typed
--   and the client's address, tied to no account: like login_failures, no row-level security.
-- * A locked account is mailed a link that signs it in once (account_tokens, purpose sign_in),
--   through the same steps as a right password, the second factor included.
-- * Passkeys and the challenges of their ceremonies are closed to the app's role, FORCE'd like
--   every table of user data (migrations/0009): requests reach them only through the functions
--   below, each acting for the signed-in user of the request, or, before any grant, taking one
--   challenge and reading the one passkey a signed assertion names.

CREATE TABLE sign_in_attempts (
    key       text PRIMARY KEY,
    attempts  integer NOT NULL DEFAULT 0,   -- counted before the check, taken back on success
    since     timestamptz NOT NULL DEFAULT now(),
    last_at   timestamptz NOT NULL DEFAULT now(),
    ends_at   timestamptz NOT NULL DEFAULT now()  -- the count's window: pruned after it
);
CREATE INDEX sign_in_attempts_ends ON sign_in_attempts (ends_at);

-- --- the sign-in link -------------------------------------------------------------------------
ALTER TABLE account_tokens DROP CONSTRAINT account_tokens_purpose_check;
ALTER TABLE account_tokens ADD CONSTRAINT account_tokens_purpose_check
    CHECK (purpose IN ('password_reset', 'verify_email', 'sign_in'));

CREATE OR REPLACE FUNCTION afterglow_queue_mail(email text, kind text, stale_after interval,
                                                at_most_every interval) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF kind NOT IN ('password_reset', 'verify_email', 'registration_attempt',
                    'sign_in_link') THEN
        RAISE EXCEPTION 'a request cannot queue % mail', kind
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO public.mail_outbox (user_id, kind, recipient, stale_at)
    SELECT u.id, $2, u.email, now() + $3
      FROM public.users u
     WHERE lower(u.email) = lower($1)
       AND ($2 <> 'verify_email' OR u.email_verified_at IS NULL)
       AND NOT EXISTS (
           SELECT FROM public.mail_outbox m
            WHERE m.user_id = u.id AND m.kind = $2
              AND m.created_at > now() - greatest($4, interval '1 minute'));
END
$$;

-- A sign-in link used, in one statement (so it works once): the account's credentials, as
-- afterglow_credentials gives them to a sign-in, and its address counted as confirmed (the link
-- reached it). No row for a token that is unknown, used or expired.
CREATE FUNCTION afterglow_use_sign_in_link(token_hash bytea)
RETURNS TABLE (id uuid, email text, role text, display_name text, timezone text,
               clinic_phone text, created_at timestamptz, password_hash text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    WITH used AS (
        UPDATE public.account_tokens t SET used_at = now()
         WHERE t.token_hash = $1 AND t.purpose = 'sign_in' AND t.used_at IS NULL
           AND t.expires_at > now()
        RETURNING t.user_id)
    UPDATE public.users u SET email_verified_at = coalesce(u.email_verified_at, now())
      FROM used WHERE u.id = used.user_id
    RETURNING u.id, u.email, u.role, u.display_name, u.timezone, u.clinic_phone, u.created_at,
              u.password_hash
$$;

REVOKE ALL ON FUNCTION afterglow_use_sign_in_link(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION afterglow_use_sign_in_link(bytea) TO afterglow_app;

-- --- passkeys ---------------------------------------------------------------------------------
CREATE TABLE passkeys (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id  bytea NOT NULL UNIQUE,    -- as the authenticator names it
    public_key     bytea NOT NULL,           -- its COSE key, checked signatures with
    sign_count     bigint NOT NULL DEFAULT 0,
    transports     text[] NOT NULL DEFAULT '{}',
    name           text NOT NULL,            -- the owner's word for it ("my phone")
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- A ceremony's challenge, single use and short-lived: taken (deleted) before the answer to it is
-- checked. Registering a passkey and proving who one is again belong to a signed-in account;
-- signing in belongs to nobody yet.
CREATE TABLE passkey_challenges (
    challenge   bytea PRIMARY KEY,           -- 32 random bytes
    purpose     text NOT NULL CHECK (purpose IN ('register', 'sign_in', 'reauthenticate')),
    user_id     uuid REFERENCES users (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    CHECK ((purpose = 'sign_in') = (user_id IS NULL))
);
CREATE INDEX passkey_challenges_expires ON passkey_challenges (expires_at);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['passkeys', 'passkey_challenges'] LOOP
        EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, afterglow_app', t);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY owner_all ON %I TO %I USING (true)', t, CURRENT_USER);
    END LOOP;
END
$$;

-- A clinician's passkey is a second factor (it is something they have, unlocked by something
-- they are or know): with one, their password alone opens only the second step, which the
-- passkey passes by signing in. A patient's is a way to sign in, beside the password.
CREATE OR REPLACE FUNCTION afterglow_has_second_factor(account uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT EXISTS (SELECT FROM public.totp_factors f
                    WHERE f.user_id = $1 AND f.confirmed_at IS NOT NULL)
        OR EXISTS (SELECT FROM public.passkeys p JOIN public.users u ON u.id = p.user_id
                    WHERE p.user_id = $1 AND u.role = 'clinician')
$$;

-- A new challenge: for signing in, anyone's (``token`` null); for the other purposes, the
-- signed-in session's account's (false, and nothing stored, without one). Challenges past their
-- time go as new ones come.
CREATE FUNCTION afterglow_passkey_challenge(token text, challenge bytea, purpose text,
                                            lifetime interval) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    account uuid;
BEGIN
    IF purpose <> 'sign_in' THEN
        SELECT s.user_id INTO account FROM afterglow_session_of(token) s
         WHERE NOT s.second_factor_pending;
        IF account IS NULL THEN
            RETURN false;
        END IF;
    END IF;
    DELETE FROM public.passkey_challenges c WHERE c.expires_at <= now();
    INSERT INTO public.passkey_challenges (challenge, purpose, user_id, expires_at)
    VALUES ($2, $3, account, now() + least($4, interval '10 minutes'));
    RETURN true;
END
$$;

-- A challenge used up, whatever comes of the answer to it: true if it was live, and (but for
-- signing in) the signed-in session's account's.
CREATE FUNCTION afterglow_take_passkey_challenge(token text, challenge bytea, purpose text)
RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    WITH taken AS (
        DELETE FROM public.passkey_challenges c
         WHERE c.challenge = $2 AND c.purpose = $3
        RETURNING c.user_id, c.expires_at)
    SELECT EXISTS (
        SELECT FROM taken t
         WHERE t.expires_at > now()
           AND ($3 = 'sign_in'
                OR t.user_id = (SELECT s.user_id FROM afterglow_session_of($1) s
                                 WHERE NOT s.second_factor_pending)))
$$;

-- The signed-in session's account's passkeys.
CREATE FUNCTION afterglow_passkeys_of(token text)
RETURNS TABLE (id uuid, credential_id bytea, transports text[], name text,
               created_at timestamptz, last_used_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT p.id, p.credential_id, p.transports, p.name, p.created_at, p.last_used_at
      FROM afterglow_session_of($1) s JOIN public.passkeys p ON p.user_id = s.user_id
     WHERE NOT s.second_factor_pending
     ORDER BY p.created_at
$$;

-- A passkey registered to the signed-in session's account (its attestation checked by the
-- caller). Null where there is no such session, or the authenticator's credential is already
-- registered.
CREATE FUNCTION afterglow_add_passkey(token text, credential_id bytea, public_key bytea,
                                      sign_count bigint, transports text[], name text)
RETURNS uuid
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    INSERT INTO public.passkeys (user_id, credential_id, public_key, sign_count, transports, name)
    SELECT s.user_id, $2, $3, $4, $5, $6 FROM afterglow_session_of($1) s
     WHERE NOT s.second_factor_pending
    ON CONFLICT (credential_id) DO NOTHING
    RETURNING id
$$;

-- One of the signed-in session's account's passkeys removed. False where it has no such one.
CREATE FUNCTION afterglow_remove_passkey(token text, passkey uuid) RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    WITH gone AS (
        DELETE FROM public.passkeys p
         USING afterglow_session_of($1) s
         WHERE p.id = $2 AND p.user_id = s.user_id AND NOT s.second_factor_pending
        RETURNING 1)
    SELECT EXISTS (SELECT FROM gone)
$$;

-- Before any grant: the passkey a signed assertion names, to check the signature with.
CREATE FUNCTION afterglow_passkey_for_sign_in(credential_id bytea)
RETURNS TABLE (user_id uuid, role text, public_key bytea, sign_count bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT p.user_id, u.role, p.public_key, p.sign_count
      FROM public.passkeys p JOIN public.users u ON u.id = p.user_id
     WHERE p.credential_id = $1
$$;

-- A passkey used (the caller has checked its signature over a live challenge): its counter
-- moved on, which it must (an authenticator that keeps none says 0 every time), so a signature
-- seen before is not taken twice. Returns the passkey's account; null where either fails.
CREATE FUNCTION afterglow_passkey_used(credential_id bytea, sign_count bigint) RETURNS uuid
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    UPDATE public.passkeys p SET sign_count = $2, last_used_at = now()
     WHERE p.credential_id = $1 AND ($2 > p.sign_count OR ($2 = 0 AND p.sign_count = 0))
    RETURNING p.user_id
$$;

-- Sign-in with a passkey: a signed-in session for its account at once (a passkey checked with
-- user verification is two factors in one), its owner's proof of who they are as fresh as it
-- gets, and this backend's grant made the account's. Returns the account; no row where the
-- passkey cannot be used (see afterglow_passkey_used).
CREATE FUNCTION afterglow_passkey_session(credential_id bytea, sign_count bigint,
                                          token_hash bytea, idle_timeout interval,
                                          expires_at timestamptz)
RETURNS TABLE (id uuid, email text, role text, display_name text, timezone text,
               clinic_phone text, created_at timestamptz)
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
        SELECT u.id, u.email, u.role, u.display_name, u.timezone, u.clinic_phone, u.created_at
          FROM public.users u WHERE u.id = account;
END
$$;

-- The owner of a signed-in session proved who they are again with one of their passkeys.
CREATE FUNCTION afterglow_passkey_reauthenticate(token text, credential_id bytea,
                                                 sign_count bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    mine public.sessions := afterglow_session_of(token);
BEGIN
    IF mine.token_hash IS NULL OR mine.second_factor_pending
       OR NOT EXISTS (SELECT FROM public.passkeys p
                       WHERE p.credential_id = $2 AND p.user_id = mine.user_id)
       OR afterglow_passkey_used($2, $3) IS NULL THEN
        RETURN false;
    END IF;
    UPDATE public.sessions s SET reauthenticated_at = now()
     WHERE s.token_hash = mine.token_hash;
    RETURN true;
END
$$;

REVOKE ALL ON FUNCTION afterglow_passkey_challenge(text, bytea, text, interval),
    afterglow_take_passkey_challenge(text, bytea, text), afterglow_passkeys_of(text),
    afterglow_add_passkey(text, bytea, bytea, bigint, text[], text),
    afterglow_remove_passkey(text, uuid), afterglow_passkey_for_sign_in(bytea),
    afterglow_passkey_used(bytea, bigint),
    afterglow_passkey_session(bytea, bigint, bytea, interval, timestamptz),
    afterglow_passkey_reauthenticate(text, bytea, bigint)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION afterglow_passkey_challenge(text, bytea, text, interval),
    afterglow_take_passkey_challenge(text, bytea, text), afterglow_passkeys_of(text),
    afterglow_add_passkey(text, bytea, bytea, bigint, text[], text),
    afterglow_remove_passkey(text, uuid), afterglow_passkey_for_sign_in(bytea),
    afterglow_passkey_session(bytea, bigint, bytea, interval, timestamptz),
    afterglow_passkey_reauthenticate(text, bytea, bigint)
    TO afterglow_app;
