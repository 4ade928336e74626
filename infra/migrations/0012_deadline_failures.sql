-- depends: 0011_intake_lookups_by_key
-- A deadline whose handler fails is retried later on its own, and set aside as `failed` after repeated
-- failures, instead of failing the batch it was claimed with (and, as the oldest due rows, every pass after).
ALTER TABLE deadlines
  ADD COLUMN attempts   integer NOT NULL DEFAULT 0,
  ADD COLUMN last_error text,
  ADD COLUMN retry_at   timestamptz;
ALTER TABLE deadlines DROP CONSTRAINT deadlines_status_check;
ALTER TABLE deadlines ADD CONSTRAINT deadlines_status_check
  CHECK (status IN ('pending', 'fired', 'cancelled', 'paused', 'failed'));
