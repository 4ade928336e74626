-- depends: 0012_deadline_failures
-- An appeal may reopen a case after it was archived (cn-ecl archives 30 days after closing, takes appeals for
-- 90). Its bundle stays, immutable, as the record up to then; the case is not archived any more, and when it
-- closes again it is archived again into a new bundle. So a case has bundles 1, 2, ... (`version`), and
-- `archived_at` is only ever set on a closed case.
ALTER TABLE archive_bundles ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1);
ALTER TABLE archive_bundles ALTER COLUMN version DROP DEFAULT;
ALTER TABLE archive_bundles DROP CONSTRAINT archive_bundles_tenant_id_case_id_key;
ALTER TABLE archive_bundles ADD CONSTRAINT archive_bundles_case_version UNIQUE (tenant_id, case_id, version);

-- Cases reopened on appeal after they were archived, before this migration: open again, or closed again since
-- (reopened after their newest bundle's archive decision). Un-archived, the next archive pass archives them
-- again. Tenant by tenant: the tables are under row-level security for the migrating role too.
DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants LOOP
    PERFORM set_config('app.tenant_id', t::text, true);
    UPDATE cases c SET archived_at = NULL, revision = c.revision + 1
    WHERE c.archived_at IS NOT NULL AND (c.state <> 'closed' OR c.id IN (
      SELECT d.case_id FROM decisions d
      WHERE d.kind = 'case.reopen_on_appeal'
        AND d.seq > (SELECT max(a.seq) FROM archive_bundles b
                     JOIN decisions a ON a.tenant_id = b.tenant_id AND a.id = b.decision_id
                     WHERE b.tenant_id = d.tenant_id AND b.case_id = d.case_id)));
  END LOOP;
  PERFORM set_config('app.tenant_id', '', true);
END $$;
ALTER TABLE cases ADD CONSTRAINT cases_archived_only_closed CHECK (archived_at IS NULL OR state = 'closed');
