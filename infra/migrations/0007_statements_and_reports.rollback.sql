DROP INDEX IF EXISTS decisions_kind_time;
DROP INDEX IF EXISTS measures_applied;
DROP INDEX IF EXISTS notices_received;
DROP TABLE IF EXISTS sor_submissions CASCADE;
DELETE FROM deadlines WHERE kind = 'sor_submit';
