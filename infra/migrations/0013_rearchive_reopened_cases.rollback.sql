-- Fails while a case has more than one bundle: rolling back would mean dropping an immutable bundle's row.
ALTER TABLE cases DROP CONSTRAINT IF EXISTS cases_archived_only_closed;
ALTER TABLE archive_bundles DROP CONSTRAINT IF EXISTS archive_bundles_case_version;
ALTER TABLE archive_bundles ADD CONSTRAINT archive_bundles_tenant_id_case_id_key UNIQUE (tenant_id, case_id);
ALTER TABLE archive_bundles DROP COLUMN IF EXISTS version;
