-- Defence in depth: row-level security on the tables of clinical data.
--
-- The application works as the role afterglow_app (it takes it with set_config('role', ...)
-- inside each transaction; see server/db.py). That role is neither a superuser nor the tables'
-- owner and has no BYPASSRLS, so the policies below bind it. Each transaction names the
-- patients it may touch in the setting afterglow.patients: a comma-separated list of ids, set
-- by the one access check (server/access.py), or '*' for the reminder worker and operator
-- commands. A query that forgets its patient filter still cannot read another patient's rows.
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

CREATE FUNCTION afterglow_may_see(patient uuid) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('afterglow.patients', true), '') = '*'
        OR patient::text = ANY (string_to_array(current_setting('afterglow.patients', true), ','))
$$;

ALTER TABLE checkins ENABLE ROW LEVEL SECURITY;
ALTER TABLE assessments ENABLE ROW LEVEL SECURITY;
ALTER TABLE infusions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_counters ENABLE ROW LEVEL SECURITY;
CREATE POLICY patient_scope ON checkins TO afterglow_app
    USING (afterglow_may_see(patient_id)) WITH CHECK (afterglow_may_see(patient_id));
CREATE POLICY patient_scope ON assessments TO afterglow_app
    USING (afterglow_may_see(patient_id)) WITH CHECK (afterglow_may_see(patient_id));
CREATE POLICY patient_scope ON infusions TO afterglow_app
    USING (afterglow_may_see(patient_id)) WITH CHECK (afterglow_may_see(patient_id));
CREATE POLICY patient_scope ON sync_counters TO afterglow_app
    USING (afterglow_may_see(patient_id)) WITH CHECK (afterglow_may_see(patient_id));

-- The write path finds an entry by its global id before deciding whether a change wins; under
-- the policies above it could not see another patient's row, and its INSERT ... ON CONFLICT
-- would then fail on it. These functions tell only whether the id is this patient's and, if so,
-- its conflict key: nothing of another patient's row leaves them.
CREATE FUNCTION entry_key_checkins(entry uuid, patient uuid)
RETURNS TABLE (own boolean, client_updated_at timestamptz, deleted boolean, version text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT patient_id = patient,
           CASE WHEN patient_id = patient THEN client_updated_at END,
           CASE WHEN patient_id = patient THEN deleted END,
           CASE WHEN patient_id = patient THEN version END
      FROM checkins WHERE id = entry
$$;
CREATE FUNCTION entry_key_assessments(entry uuid, patient uuid)
RETURNS TABLE (own boolean, client_updated_at timestamptz, deleted boolean, version text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT patient_id = patient,
           CASE WHEN patient_id = patient THEN client_updated_at END,
           CASE WHEN patient_id = patient THEN deleted END,
           CASE WHEN patient_id = patient THEN version END
      FROM assessments WHERE id = entry
$$;
CREATE FUNCTION entry_key_infusions(entry uuid, patient uuid)
RETURNS TABLE (own boolean, client_updated_at timestamptz, deleted boolean, version text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT patient_id = patient,
           CASE WHEN patient_id = patient THEN client_updated_at END,
           CASE WHEN patient_id = patient THEN deleted END,
           CASE WHEN patient_id = patient THEN version END
      FROM infusions WHERE id = entry
$$;
REVOKE ALL ON FUNCTION entry_key_checkins, entry_key_assessments, entry_key_infusions FROM PUBLIC;
GRANT EXECUTE ON FUNCTION entry_key_checkins, entry_key_assessments, entry_key_infusions
    TO afterglow_app;
