-- What a patient records: check-ins, assessments (PHQ-9, GAD-7) and infusions.
--
-- Ids are made by the client (UUIDs), so retries are safe. Every row carries patient_id and every
-- query filters on it. A delete is a tombstone (deleted = true, content erased) so other devices
-- learn of it through sync. Conflicts: the change with the greater (client_updated_at, deleted,
-- version) wins, where version is a hash of the content: a total order, so replays converge.
-- change_seq comes from the patient's own counter (sync_counters), taken under its row lock, so a
-- patient's changes commit in change_seq order and a sync cursor never skips one.

CREATE TABLE sync_counters (
    patient_id  uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    seq         bigint NOT NULL DEFAULT 0
);

CREATE TABLE checkins (
    id                 uuid PRIMARY KEY,
    patient_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    recorded_at        timestamptz NOT NULL,
    local_day          date NOT NULL,
    mood               smallint CHECK (mood BETWEEN 0 AND 10),
    anxiety            smallint CHECK (anxiety BETWEEN 0 AND 10),
    energy             smallint CHECK (energy BETWEEN 0 AND 10),
    sleep_hours        numeric(3, 1) CHECK (sleep_hours BETWEEN 0 AND 24),
    note               text CHECK (length(note) <= 2000),
    side_effects       jsonb NOT NULL DEFAULT '[]',
    deleted            boolean NOT NULL DEFAULT false,
    client_updated_at  timestamptz NOT NULL,
    version            text NOT NULL,
    change_seq         bigint NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (deleted OR mood IS NOT NULL)
);
CREATE INDEX checkins_patient_day ON checkins (patient_id, local_day);
CREATE INDEX checkins_patient_seq ON checkins (patient_id, change_seq);

CREATE TABLE assessments (
    id                 uuid PRIMARY KEY,
    patient_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    instrument         text NOT NULL CHECK (instrument IN ('phq9', 'gad7')),
    answers            smallint[],
    total              smallint,
    band               text,
    taken_at           timestamptz NOT NULL,
    local_day          date NOT NULL,
    deleted            boolean NOT NULL DEFAULT false,
    client_updated_at  timestamptz NOT NULL,
    version            text NOT NULL,
    change_seq         bigint NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (deleted OR (answers IS NOT NULL AND total IS NOT NULL))
);
CREATE INDEX assessments_patient_taken ON assessments (patient_id, instrument, taken_at);
CREATE INDEX assessments_patient_seq ON assessments (patient_id, change_seq);

CREATE TABLE infusions (
    id                 uuid PRIMARY KEY,
    patient_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scheduled_at       timestamptz NOT NULL,
    local_day          date NOT NULL,
    duration_minutes   smallint NOT NULL CHECK (duration_minutes BETWEEN 10 AND 240),
    status             text NOT NULL CHECK (status IN ('planned', 'completed', 'cancelled')),
    notes              text CHECK (length(notes) <= 1000),
    deleted            boolean NOT NULL DEFAULT false,
    client_updated_at  timestamptz NOT NULL,
    version            text NOT NULL,
    change_seq         bigint NOT NULL,
    updated_by         uuid,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX infusions_patient_scheduled ON infusions (patient_id, scheduled_at);
CREATE INDEX infusions_patient_seq ON infusions (patient_id, change_seq);
