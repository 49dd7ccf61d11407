-- The clinic's record number for a patient (an MRN), set by the clinician who accepted the share:
-- it heads every printed page of the summary so a sheet can be filed and matched. It belongs to
-- the share (one clinician's, one clinic's view of the patient), not to the patient's account.
ALTER TABLE shares ADD COLUMN record_number text
    CHECK (record_number IS NULL
           OR (length(record_number) BETWEEN 1 AND 40 AND record_number !~ '[[:cntrl:]]'));

-- A request may change two columns of a share and no other: revoked_at (the patient's withdrawal,
-- policy withdraw of 0009) and record_number. Until now UPDATE was granted on the whole table.
REVOKE UPDATE ON shares FROM afterglow_app;
GRANT UPDATE (revoked_at, record_number) ON shares TO afterglow_app;

-- The clinician of an active share may set its record number, and cannot withdraw it that way
-- (the row must stay active). A patient could write the column only while withdrawing the
-- share, after which no clinician reads it.
CREATE POLICY record_number ON shares FOR UPDATE TO afterglow_app
    USING (clinician_id = (SELECT afterglow_clinician()) AND revoked_at IS NULL)
    WITH CHECK (clinician_id = (SELECT afterglow_clinician()) AND revoked_at IS NULL);
