-- Accounts, server-side sessions and login throttling.
CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email           text NOT NULL,
    role            text NOT NULL CHECK (role IN ('patient', 'clinician')),
    password_hash   text NOT NULL,
    display_name    text NOT NULL,
    timezone        text NOT NULL,
    clinic_phone    text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));

-- Only the SHA-256 of the cookie token is stored: a leaked table does not leak sessions.
CREATE TABLE sessions (
    token_hash    bytea PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    idle_timeout  interval NOT NULL,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed logins, keyed by a hash of the account's email or by the client address, so throttling
-- holds across every app process. Rows older than the window are pruned as new ones arrive.
CREATE TABLE login_failures (
    key  text NOT NULL,
    at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key_at ON login_failures (key, at);
