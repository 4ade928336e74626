DROP TABLE IF EXISTS appeals, override_cooloffs, notifier_days, account_restrictions, strikes, suspensions CASCADE;
ALTER TABLE parties DROP COLUMN IF EXISTS trusted_since;
ALTER TABLE ip_rights DROP COLUMN IF EXISTS invalidation_decided_at, DROP COLUMN IF EXISTS invalidation_outcome;
ALTER TABLE cases DROP COLUMN IF EXISTS automated_measures, DROP COLUMN IF EXISTS unfounded,
  DROP COLUMN IF EXISTS notifier_id;
