UPDATE deadlines SET status = 'pending' WHERE status = 'failed';
ALTER TABLE deadlines DROP CONSTRAINT deadlines_status_check;
ALTER TABLE deadlines ADD CONSTRAINT deadlines_status_check
  CHECK (status IN ('pending', 'fired', 'cancelled', 'paused'));
ALTER TABLE deadlines DROP COLUMN retry_at, DROP COLUMN last_error, DROP COLUMN attempts;
