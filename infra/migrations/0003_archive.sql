-- depends: 0002_notice_and_action
-- Archiving: immutable, content-addressed bundles of closed cases in object storage, their retention
-- and verification results. A bundle row is written once; only its verification and purge columns
-- change afterwards. Cases remember when they were archived and purged.

CREATE TABLE archive_bundles (
  tenant_id          uuid NOT NULL,
  id                 uuid NOT NULL,
  case_id            uuid NOT NULL,
  sha256             text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  uri                text NOT NULL,
  size               bigint NOT NULL CHECK (size > 0),
  format             text NOT NULL,
  decision_id        uuid NOT NULL,
  last_decision_seq  bigint NOT NULL,
  policy_version     integer NOT NULL,
  closed_at          timestamptz NOT NULL,
  retention_until    timestamptz NOT NULL,
  created_at         timestamptz NOT NULL,
  verified_at        timestamptz,
  verified_ok        boolean,
  purged_at          timestamptz,
  purge_decision_id  uuid,
  object_deleted_at  timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, case_id),
  UNIQUE (tenant_id, sha256),
  FOREIGN KEY (tenant_id, case_id) REFERENCES cases(tenant_id, id),
  CHECK (object_deleted_at IS NULL OR purged_at IS NOT NULL)
);
-- Purged bundles whose object still has to be deleted (after the purge committed).
CREATE INDEX archive_bundles_object_delete ON archive_bundles (tenant_id, purged_at) WHERE purged_at IS NOT NULL AND object_deleted_at IS NULL;

ALTER TABLE cases ADD COLUMN archived_at timestamptz;
ALTER TABLE cases ADD COLUMN purged_at timestamptz;
-- Closed cases not yet archived, oldest outcome first: what the archive pass looks for.
CREATE INDEX cases_archive_due ON cases (tenant_id, (coalesce(outcome_at, updated_at)), id)
  WHERE state = 'closed' AND archived_at IS NULL;

ALTER TABLE archive_bundles ENABLE ROW LEVEL SECURITY;
ALTER TABLE archive_bundles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON archive_bundles TO noticehub_app
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT ON archive_bundles TO noticehub_app;
GRANT UPDATE (verified_at, verified_ok, purged_at, purge_decision_id, object_deleted_at, retention_until)
  ON archive_bundles TO noticehub_app;
