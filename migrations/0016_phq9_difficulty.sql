-- PHQ-9 item 10: how difficult the problems have made daily life (LOINC 69722-7), 0–3. Optional
-- and never scored: the nine scored answers stay what they were, and a questionnaire without it
-- (every one stored before this migration) is as valid as ever. Only the PHQ-9 asks it.
--
-- * A tombstone holds no content: difficulty is erased with the rest; a retraction keeps it.
-- * The rule of 0014 that a stored assessment is final covers the new answer too.
-- * Row security (0009) is per row, so the new column is under the same policies.

ALTER TABLE assessments
    ADD COLUMN difficulty smallint,
    ADD CONSTRAINT assessments_difficulty_range CHECK (difficulty BETWEEN 0 AND 3),
    ADD CONSTRAINT assessments_difficulty_phq9 CHECK (difficulty IS NULL OR instrument = 'phq9'),
    ADD CONSTRAINT assessments_difficulty_erased
        CHECK (NOT deleted OR retracted_at IS NOT NULL OR difficulty IS NULL);

CREATE OR REPLACE FUNCTION assessments_are_final() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF (OLD.instrument, OLD.answers, OLD.total, OLD.band, OLD.taken_at, OLD.local_day,
        OLD.version, OLD.difficulty)
       IS DISTINCT FROM
       (NEW.instrument, NEW.answers, NEW.total, NEW.band, NEW.taken_at, NEW.local_day,
        NEW.version, NEW.difficulty)
       OR NEW.patient_id IS DISTINCT FROM OLD.patient_id
       OR (OLD.deleted AND NOT NEW.deleted)
       OR (OLD.retracted_at IS NOT NULL AND NEW.retracted_at IS DISTINCT FROM OLD.retracted_at)
    THEN
        RAISE EXCEPTION 'a stored assessment is final: it may only be retracted'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
