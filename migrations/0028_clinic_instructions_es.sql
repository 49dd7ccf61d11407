-- The clinic's pre-session instructions in Spanish too (issue 18: "the clinic's own
-- instructions (the clinic can write them in both languages)"). pre_session_instructions (0023)
-- stays the English; a patient reads the one in their language, the other when theirs is empty
-- (server/services/companions.py). Admins write it as they write 0023's settings columns; the
-- row-level policies of clinics (0023) already cover the new column.

ALTER TABLE clinics
    ADD COLUMN pre_session_instructions_es text
        CHECK (length(pre_session_instructions_es) <= 4000);
GRANT UPDATE (pre_session_instructions_es) ON clinics TO afterglow_app;
