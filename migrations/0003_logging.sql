-- Tombstones hold no content, not even times.
--
-- A device may delete an entry the server never saw (made and deleted offline, or the delete
-- arrives before the edit from another device). The server must still keep the tombstone, or
-- the older edit arriving later would bring the entry back; so the content columns may be NULL
-- on a tombstone, and must be. Live entries keep every NOT NULL guarantee they had.

ALTER TABLE checkins
    ALTER COLUMN recorded_at DROP NOT NULL,
    ALTER COLUMN local_day DROP NOT NULL,
    ADD CONSTRAINT checkins_live_complete
        CHECK (deleted OR (recorded_at IS NOT NULL AND local_day IS NOT NULL)),
    ADD CONSTRAINT checkins_tombstone_erased
        CHECK (NOT deleted OR (recorded_at IS NULL AND local_day IS NULL AND mood IS NULL
               AND anxiety IS NULL AND energy IS NULL AND sleep_hours IS NULL AND note IS NULL
               AND side_effects = '[]'::jsonb));

ALTER TABLE assessments
    ALTER COLUMN instrument DROP NOT NULL,
    ALTER COLUMN taken_at DROP NOT NULL,
    ALTER COLUMN local_day DROP NOT NULL,
    ADD CONSTRAINT assessments_live_complete
        CHECK (deleted OR (instrument IS NOT NULL AND taken_at IS NOT NULL
               AND local_day IS NOT NULL AND band IS NOT NULL)),
    ADD CONSTRAINT assessments_tombstone_erased
        CHECK (NOT deleted OR (instrument IS NULL AND taken_at IS NULL AND local_day IS NULL
               AND answers IS NULL AND total IS NULL AND band IS NULL));

ALTER TABLE infusions
    ALTER COLUMN scheduled_at DROP NOT NULL,
    ALTER COLUMN local_day DROP NOT NULL,
    ALTER COLUMN duration_minutes DROP NOT NULL,
    ALTER COLUMN status DROP NOT NULL,
    ADD CONSTRAINT infusions_live_complete
        CHECK (deleted OR (scheduled_at IS NOT NULL AND local_day IS NOT NULL
               AND duration_minutes IS NOT NULL AND status IS NOT NULL)),
    ADD CONSTRAINT infusions_tombstone_erased
        CHECK (NOT deleted OR (scheduled_at IS NULL AND local_day IS NULL
               AND duration_minutes IS NULL AND status IS NULL AND notes IS NULL));
