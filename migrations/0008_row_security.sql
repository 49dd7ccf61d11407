-- Defence in depth: row-level security on the tables of clinical data.
--
-- The application's pooled connections work as the role afterglow_app (SET ROLE when a
-- connection opens; see server/db.py). That role is neither a superuser nor the tables' owner
-- and has no BYPASSRLS, so the policies below bind it. A request's connection says which
-- patients it may see, in session settings the pool clears when the connection comes back:
-- afterglow.patients, a comma-separated list of ids (a patient's own id at the session lookup,
-- each patient a clinician opens at the access check), or '*' for the reminder worker and
-- operator commands (transaction-local); and afterglow.clinician, whose active shares are
-- visible too. A query that forgets its patient filter still cannot read another patient's rows.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'afterglow_app') THEN
        CREATE ROLE afterglow_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$;
-- Whoever migrates (and so whoever the app logs in as) may take the role.
GRANT afterglow_app TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO afterglow_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO afterglow_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO afterglow_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO afterglow_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO afterglow_app;

-- A clinician's request may also see every patient who shares with them right now
-- (afterglow.clinician, set at the session lookup): one index probe per row on shares, so the
-- patient list need not name 500 patients. The policy is written out on each table rather than
-- called as a function, so its uncorrelated sub-selects run once per query, not once per row.
CREATE FUNCTION afterglow_granted() RETURNS uuid[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT string_to_array(nullif(nullif(current_setting('afterglow.patients', true), ''), '*'),
                           ',')::uuid[]
$$;

DO $$
DECLARE
    t text;
    visible text;
BEGIN
    FOREACH t IN ARRAY ARRAY['checkins', 'assessments', 'infusions', 'sync_counters'] LOOP
        visible := format($q$
            patient_id = ANY (coalesce((SELECT afterglow_granted()), '{}'))
            OR (SELECT coalesce(current_setting('afterglow.patients', true), '') = '*')
            OR EXISTS (
                SELECT FROM shares s
                 WHERE s.clinician_id
                       = (SELECT nullif(current_setting('afterglow.clinician', true), '')::uuid)
                   AND s.patient_id = %I.patient_id AND s.revoked_at IS NULL)$q$, t);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY patient_scope ON %I TO afterglow_app USING (%s) '
                       'WITH CHECK (%s)', t, visible, visible);
    END LOOP;
END
$$;

-- The write path finds an entry by its global id before deciding whether a change wins; under
-- the policies above it could not see another patient's row, and its INSERT ... ON CONFLICT
-- would then fail on it. These functions tell only whether the id is this patient's and, if so,
-- its conflict key: nothing of another patient's row leaves them.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['checkins', 'assessments', 'infusions'] LOOP
        EXECUTE format($f$
            CREATE FUNCTION entry_key_%1$s(entry uuid, patient uuid)
            RETURNS TABLE (own boolean, client_updated_at timestamptz, deleted boolean,
                           version text)
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $b$
                SELECT patient_id = patient,
                       CASE WHEN patient_id = patient THEN client_updated_at END,
                       CASE WHEN patient_id = patient THEN deleted END,
                       CASE WHEN patient_id = patient THEN version END
                  FROM %1$I WHERE id = entry
            $b$
        $f$, t);
        EXECUTE format('REVOKE ALL ON FUNCTION entry_key_%s FROM PUBLIC', t);
        EXECUTE format('GRANT EXECUTE ON FUNCTION entry_key_%s TO afterglow_app', t);
    END LOOP;
END
$$;
