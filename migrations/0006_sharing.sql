-- Sharing with a clinician, and the audit trail of who saw what.
--
-- A share starts as a single-use code the patient reads out to their clinician. Only the code's
-- SHA-256 is stored. Accepting it (before expires_at, not revoked, not yet used) binds the
-- clinician; from then on the share is active until the patient revokes it. The access check
-- (server/access.py) reads this table on every request, so a revocation holds at once.
CREATE TABLE shares (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash     bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    clinician_id  uuid REFERENCES users (id) ON DELETE CASCADE,
    accepted_at   timestamptz,
    revoked_at    timestamptz,
    CHECK ((clinician_id IS NULL) = (accepted_at IS NULL))
);
CREATE INDEX shares_patient ON shares (patient_id, created_at);
-- One active share per (patient, clinician): the access check is one index probe.
CREATE UNIQUE INDEX shares_active_pair ON shares (clinician_id, patient_id)
    WHERE clinician_id IS NOT NULL AND revoked_at IS NULL;

-- Append-only: who (actor, with their name as it was), which patient, what, when, from where.
-- Rows about a patient are erased with the patient's account (ON DELETE CASCADE); nothing else
-- may change or remove a row. actor_id has no foreign key on purpose: the trail outlives a
-- clinician's account.
CREATE TABLE audit_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    patient_id  uuid REFERENCES users (id) ON DELETE CASCADE,
    actor_id    uuid,
    actor_role  text NOT NULL,
    actor_name  text NOT NULL,
    action      text NOT NULL,
    address     text NOT NULL,
    detail      jsonb
);
CREATE INDEX audit_events_patient ON audit_events (patient_id, id);
CREATE INDEX audit_events_actor ON audit_events (actor_id, id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The one way out: the patient's account was deleted and the foreign key cascades here.
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1
       AND NOT EXISTS (SELECT 1 FROM users WHERE id = OLD.patient_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
