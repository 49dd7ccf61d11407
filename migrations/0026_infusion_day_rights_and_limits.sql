-- Infusion day under a care team (issues 15 and 16, follow-up).
--
-- * Planning a course is the prescriber's (plan_write); the chair record is read and written by
--   the roles with chair rights (prescriber, nurse). The rows join clinic_role_rights, the part
--   of server/domain/clinic.py's RIGHTS the database enforces (a test keeps the two equal).
-- * Row-level security on 0025's tables follows those rights under a team share: 0025 admitted
--   every 'clinical' member to write courses and chair records alike; now a nurse's request
--   reads the plan but cannot write one, and reads and writes the chair record.
-- * Dose limits and the blood-pressure threshold before dosing are clinic settings, with the
--   defaults of issue 16 (server/domain/chair.py, ClinicLimits).

INSERT INTO clinic_role_rights (role, right_) VALUES
    ('prescriber', 'plan_write'),
    ('prescriber', 'chair'), ('nurse', 'chair'),
    ('prescriber', 'chair_write'), ('nurse', 'chair_write');

DROP POLICY IF EXISTS team_scope ON courses;
CREATE POLICY team_read ON courses FOR SELECT TO afterglow_app
    USING (patient_id IN (SELECT unnest(afterglow_team_patients('clinical'))));
CREATE POLICY team_write ON courses TO afterglow_app
    USING (patient_id IN (SELECT unnest(afterglow_team_patients('plan_write'))))
    WITH CHECK (patient_id IN (SELECT unnest(afterglow_team_patients('plan_write'))));

DROP POLICY IF EXISTS team_scope ON session_records;
CREATE POLICY team_read ON session_records FOR SELECT TO afterglow_app
    USING (patient_id IN (SELECT unnest(afterglow_team_patients('chair'))));
CREATE POLICY team_write ON session_records TO afterglow_app
    USING (patient_id IN (SELECT unnest(afterglow_team_patients('chair_write'))))
    WITH CHECK (patient_id IN (SELECT unnest(afterglow_team_patients('chair_write'))));

ALTER TABLE clinics
    ADD COLUMN ketamine_min_mg_per_kg float8 NOT NULL DEFAULT 0.1,
    ADD COLUMN ketamine_max_mg_per_kg float8 NOT NULL DEFAULT 1.0,
    ADD COLUMN esketamine_doses smallint[] NOT NULL DEFAULT '{28,56,84}',
    ADD COLUMN bp_systolic_threshold smallint NOT NULL DEFAULT 140,
    ADD COLUMN bp_diastolic_threshold smallint NOT NULL DEFAULT 90,
    ADD CONSTRAINT clinics_ketamine_limits
        CHECK (ketamine_min_mg_per_kg >= 0.05 AND ketamine_min_mg_per_kg <= ketamine_max_mg_per_kg
               AND ketamine_max_mg_per_kg <= 3.0),
    ADD CONSTRAINT clinics_esketamine_doses
        CHECK (cardinality(esketamine_doses) >= 1 AND esketamine_doses <@ '{28,56,84}'::smallint[]),
    ADD CONSTRAINT clinics_bp_threshold
        CHECK (bp_systolic_threshold BETWEEN 90 AND 220 AND bp_diastolic_threshold BETWEEN 50 AND 140);
GRANT UPDATE (ketamine_min_mg_per_kg, ketamine_max_mg_per_kg, esketamine_doses,
              bp_systolic_threshold, bp_diastolic_threshold) ON clinics TO afterglow_app;

-- Who made the change that stands (issue 15): a patient sees the name of the person whose edit
-- of their infusion is the current one, when it is not their own (clinic staff, their
-- psychiatrist), though their request cannot read that person's account.
CREATE FUNCTION afterglow_infusion_changes() RETURNS TABLE (infusion_id uuid, changed_by text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT i.id, u.display_name
      FROM public.infusions i JOIN public.users u ON u.id = i.updated_by
     WHERE i.patient_id = (SELECT afterglow_patient()) AND i.updated_by <> i.patient_id
       AND NOT i.deleted
$$;
REVOKE ALL ON FUNCTION afterglow_infusion_changes() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION afterglow_infusion_changes() TO afterglow_app;
