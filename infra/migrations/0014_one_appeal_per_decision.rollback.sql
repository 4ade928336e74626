-- A superseded appeal goes back to what it was: upheld if it was decided (only upheld ones were
-- superseded with a decision), else filed.
DROP INDEX IF EXISTS appeals_one_standing;
ALTER TABLE appeals NO FORCE ROW LEVEL SECURITY;
UPDATE appeals SET status = CASE WHEN decided_at IS NULL THEN 'filed' ELSE 'upheld' END
  WHERE status = 'superseded';
ALTER TABLE appeals FORCE ROW LEVEL SECURITY;
ALTER TABLE appeals DROP CONSTRAINT appeals_status_check;
ALTER TABLE appeals ADD CONSTRAINT appeals_status_check CHECK (status IN ('filed', 'upheld', 'rejected'));
