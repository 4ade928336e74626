-- depends: 0002_notice_and_action
-- Public disclosure records (ECL 44 / 36, Beijing guideline art 24/26/27): redacted projections of
-- notices, declarations, results and account restrictions, published at their publish time.

CREATE TABLE disclosures (
  tenant_id         uuid NOT NULL,
  id                uuid NOT NULL,
  kind              text NOT NULL CHECK (kind IN ('notice', 'declaration', 'result', 'account_restriction')),
  case_id           uuid,
  subject_id        uuid NOT NULL,
  right_type        text,
  listing_title     text,
  merchant_name     text,
  record            jsonb NOT NULL,
  redactions        jsonb NOT NULL DEFAULT '[]',
  status            text NOT NULL CHECK (status IN ('scheduled', 'published', 'withdrawn')),
  created_at        timestamptz NOT NULL,
  publish_at        timestamptz NOT NULL,
  published_at      timestamptz,
  withdrawn_at      timestamptz,
  withdraw_reason   text,
  PRIMARY KEY (tenant_id, id)
);
-- The public list: newest first, keyset on (published_at, id); filters ride on the same order.
CREATE INDEX disclosures_public ON disclosures (tenant_id, published_at DESC, id DESC) WHERE status = 'published';
CREATE INDEX disclosures_public_kind ON disclosures (tenant_id, kind, published_at DESC, id DESC)
  WHERE status = 'published';
CREATE INDEX disclosures_case ON disclosures (tenant_id, case_id);

ALTER TABLE disclosures ENABLE ROW LEVEL SECURITY;
ALTER TABLE disclosures FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON disclosures TO noticehub_app
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE ON disclosures TO noticehub_app;
