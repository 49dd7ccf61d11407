-- Email: the mail outbox, single-use account links (password reset, email verification) and
-- whether an account's address is confirmed.
--
-- * Mail goes out like pushes: a row is written in the same transaction as what caused it, and
--   a worker claims due rows with FOR UPDATE SKIP LOCKED and moves next_attempt_at one lease
--   ahead, so the rows of a worker that dies mid-send become due again when the lease ends.
-- * A request queues only which message an account gets (afterglow_queue_mail: a kind and the
--   account's address); the worker writes the message, and mints a link's token, as it sends.
--   So a token in clear is never stored: it exists in the worker's memory and in the mail. Only
--   its SHA-256 is kept (account_tokens), so a leaked table opens no account, and a statement
--   that can queue mail learns no token and can send nothing but our own neutral messages to
--   an account's own address.
-- * The app's role has no privilege on either table; the steps a request without a grant takes
--   (asking for a reset, using a link) are the functions below. The worker and operators work
--   as the owner.

-- Accounts made before verification existed count as confirmed, so turning
-- AFTERGLOW_REQUIRE_VERIFIED_EMAIL on locks nobody out; new accounts start unconfirmed.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz DEFAULT now();
ALTER TABLE users ALTER COLUMN email_verified_at DROP DEFAULT;

CREATE TABLE account_tokens (
    token_hash  bytea PRIMARY KEY,          -- SHA-256 of the 256-bit token in the link
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('password_reset', 'verify_email')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz                 -- a link works once
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires ON account_tokens (expires_at);

CREATE TABLE mail_outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          uuid REFERENCES users (id) ON DELETE CASCADE,  -- null: no account's
    kind             text NOT NULL,          -- which message (server/domain/mail.py)
    recipient        text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'kept', 'expired', 'failed')),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    stale_at         timestamptz NOT NULL,   -- never sent at or after this moment
    claim_token      uuid,                   -- the worker holding the lease
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text,                   -- the SMTP server's last refusal, for operators
    -- Where no SMTP server is configured (development: production requires one) the worker
    -- keeps the message here instead of sending it, for /dev/mail.
    subject          text,
    body             text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    CHECK (body IS NULL OR status = 'kept')
);
CREATE INDEX mail_outbox_ready ON mail_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX mail_outbox_user ON mail_outbox (user_id, kind, created_at);
CREATE INDEX mail_outbox_finished ON mail_outbox (finished_at) WHERE status <> 'pending';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['account_tokens', 'mail_outbox'] LOOP
        EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, afterglow_app', t);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY owner_all ON %I TO %I USING (true)', t, CURRENT_USER);
    END LOOP;
END
$$;
REVOKE ALL ON SEQUENCE mail_outbox_id_seq FROM PUBLIC, afterglow_app;

-- A message for the account with address ``email`` (none: nothing is queued, and the caller
-- cannot tell). Not twice within ``at_most_every`` (at least a minute), so a form submitted
-- again and again does not fill the account's inbox.
CREATE FUNCTION afterglow_queue_mail(email text, kind text, stale_after interval,
                                     at_most_every interval) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF kind NOT IN ('password_reset', 'verify_email', 'registration_attempt') THEN
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

-- Whether a link's token can still be used: /reset asks before it hashes a new password.
CREATE FUNCTION afterglow_token_live(token_hash bytea, purpose text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT EXISTS (
        SELECT FROM public.account_tokens t
         WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > now())
$$;

-- A new password through a reset link, all at once: the link (and every other reset link of the
-- account) used up, the password set, every session of the account ended, its address counted
-- as confirmed (the link reached it), the reset in the audit trail (a patient's access log) and
-- a notice queued. Returns the account; null, and nothing done, for a token that is unknown,
-- used or expired.
CREATE FUNCTION afterglow_reset_password(token_hash bytea, password_hash text, address text,
                                         notice_stale_after interval) RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    account public.users;
BEGIN
    UPDATE public.users u
       SET password_hash = $2, password_changed_at = now(),
           email_verified_at = coalesce(u.email_verified_at, now())
      FROM public.account_tokens t
     WHERE t.token_hash = $1 AND t.purpose = 'password_reset' AND t.used_at IS NULL
       AND t.expires_at > now() AND u.id = t.user_id
    RETURNING u.* INTO account;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE public.account_tokens t SET used_at = now()
     WHERE t.user_id = account.id AND t.purpose = 'password_reset' AND t.used_at IS NULL;
    DELETE FROM public.sessions s WHERE s.user_id = account.id;
    INSERT INTO public.audit_events (patient_id, actor_id, actor_role, actor_name, action,
                                     address)
    VALUES (CASE WHEN account.role = 'patient' THEN account.id END, account.id, account.role,
            account.display_name, 'password_reset', $3);
    INSERT INTO public.mail_outbox (user_id, kind, recipient, stale_at)
    VALUES (account.id, 'password_changed', account.email, now() + $4);
    RETURN account.id;
END
$$;

-- An address confirmed through its link. Returns the account, or null for a token that is
-- unknown, used or expired.
CREATE FUNCTION afterglow_verify_email(token_hash bytea) RETURNS uuid
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    WITH used AS (
        UPDATE public.account_tokens t SET used_at = now()
         WHERE t.token_hash = $1 AND t.purpose = 'verify_email' AND t.used_at IS NULL
           AND t.expires_at > now()
        RETURNING t.user_id)
    UPDATE public.users u SET email_verified_at = coalesce(u.email_verified_at, now())
      FROM used WHERE u.id = used.user_id
    RETURNING u.id
$$;

-- Whether an account's address is confirmed: sign-in asks, after the password was right.
CREATE FUNCTION afterglow_email_verified(account uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT u.email_verified_at IS NOT NULL FROM public.users u WHERE u.id = $1
$$;

-- The messages kept instead of sent, newest first, for /dev/mail. There are only ever any where
-- no SMTP server is configured, which production refuses (server/services/mail.py).
CREATE FUNCTION afterglow_kept_mail(n integer)
RETURNS TABLE (id bigint, created_at timestamptz, recipient text, subject text, body text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT m.id, m.created_at, m.recipient, m.subject, m.body
      FROM public.mail_outbox m WHERE m.status = 'kept' ORDER BY m.id DESC LIMIT least($1, 100)
$$;

REVOKE ALL ON FUNCTION afterglow_queue_mail(text, text, interval, interval),
    afterglow_token_live(bytea, text), afterglow_reset_password(bytea, text, text, interval),
    afterglow_verify_email(bytea), afterglow_email_verified(uuid), afterglow_kept_mail(integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION afterglow_queue_mail(text, text, interval, interval),
    afterglow_token_live(bytea, text), afterglow_reset_password(bytea, text, text, interval),
    afterglow_verify_email(bytea), afterglow_email_verified(uuid), afterglow_kept_mail(integer)
    TO afterglow_app;
