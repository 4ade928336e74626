DROP TRIGGER IF EXISTS policy_versions_published ON policy_versions;
DROP FUNCTION IF EXISTS track_published_policy();
ALTER TABLE tenants DROP COLUMN IF EXISTS policy_version;
