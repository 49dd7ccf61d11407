-- Questionnaires are final: once stored, an assessment is never changed, and a patient who
-- takes one back retracts it rather than erasing it (issue 13, "Safety answers are final").
--
-- * A retraction keeps the answers and sets retracted_at. It also sets deleted: for the
--   patient's own log (their lists, charts and devices, which sync it as op "delete") a
--   retracted assessment is gone like a deleted one, so every read of the patient's log stays
--   "NOT deleted". The clinician's reads add "OR retracted_at IS NOT NULL": they still see it,
--   marked retracted, and every flag it raised. A retraction is one way.
-- * A tombstone (deleted, retracted_at NULL) still holds no content: rows deleted before this
--   migration stay erased.
-- * The trigger holds the rule against any statement, not only the app's write path
--   (server/store/entries.py never updates a stored assessment but to retract it). Erasing the
--   account (DELETE) is not an update and still takes every row.

ALTER TABLE assessments
    ADD COLUMN retracted_at timestamptz,
    DROP CONSTRAINT assessments_tombstone_erased,
    ADD CONSTRAINT assessments_tombstone_erased
        CHECK (NOT deleted OR retracted_at IS NOT NULL
               OR (instrument IS NULL AND taken_at IS NULL AND local_day IS NULL
                   AND answers IS NULL AND total IS NULL AND band IS NULL)),
    ADD CONSTRAINT assessments_retracted_kept
        CHECK (retracted_at IS NULL
               OR (deleted AND instrument IS NOT NULL AND taken_at IS NOT NULL
                   AND local_day IS NOT NULL AND answers IS NOT NULL AND total IS NOT NULL
                   AND band IS NOT NULL));

CREATE FUNCTION assessments_are_final() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF (OLD.instrument, OLD.answers, OLD.total, OLD.band, OLD.taken_at, OLD.local_day,
        OLD.version)
       IS DISTINCT FROM
       (NEW.instrument, NEW.answers, NEW.total, NEW.band, NEW.taken_at, NEW.local_day,
        NEW.version)
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
CREATE TRIGGER assessments_are_final BEFORE UPDATE ON assessments
    FOR EACH ROW EXECUTE FUNCTION assessments_are_final();
