-- depends: 0002_notice_and_action
-- DSA statements of reasons (Art 17, Art 24(5)): one row per restriction decision, queued for the
-- DSA Transparency Database and driven by the `sor_submit` durable wake-up (domain/services/statements.py).
-- Plus the indexes the transparency report (Art 15/24) reads a period through.

CREATE TABLE sor_submissions (
  tenant_id        uuid NOT NULL,
  id               uuid NOT NULL,
  decision_id      uuid NOT NULL,          -- the restriction decision; also the TDB puid
  puid             text NOT NULL,
  subject_kind     text NOT NULL CHECK (subject_kind IN ('listing', 'account')),
  case_id          uuid,                   -- listing restrictions
  restriction_id   uuid,                   -- account restrictions
  measure_ids      uuid[] NOT NULL DEFAULT '{}',
  statement        jsonb NOT NULL,         -- exactly what is (or was) sent; immutable once accepted
  status           text NOT NULL CHECK (status IN ('pending', 'submitted', 'rejected', 'duplicate')),
  attempts         integer NOT NULL DEFAULT 0,
  last_status      integer,                -- the last HTTP status received (NULL: none, e.g. timeout)
  last_error       text,
  problems         jsonb NOT NULL DEFAULT '[]',
  batch_id         uuid,                   -- the last request the statement was part of
  tdb_uuid         text,                   -- the TDB's id of the accepted statement
  created_at       timestamptz NOT NULL,
  next_attempt_at  timestamptz NOT NULL,
  last_attempt_at  timestamptz,
  submitted_at     timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, decision_id),
  UNIQUE (tenant_id, puid),
  CHECK ((subject_kind = 'listing') = (case_id IS NOT NULL)),
  CHECK ((subject_kind = 'account') = (restriction_id IS NOT NULL))
);
CREATE INDEX sor_submissions_due ON sor_submissions (tenant_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX sor_submissions_status ON sor_submissions (tenant_id, status, id);
CREATE INDEX sor_submissions_case ON sor_submissions (tenant_id, case_id) WHERE case_id IS NOT NULL;
CREATE INDEX sor_submissions_restriction ON sor_submissions (tenant_id, restriction_id)
  WHERE restriction_id IS NOT NULL;

ALTER TABLE sor_submissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sor_submissions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sor_submissions TO noticehub_app
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE ON sor_submissions TO noticehub_app;

-- Transparency report: a period of notices, applied measures and moderation decisions.
CREATE INDEX notices_received ON notices (tenant_id, received_at);
CREATE INDEX measures_applied ON measures (tenant_id, applied_at) WHERE applied_at IS NOT NULL;
CREATE INDEX decisions_kind_time ON decisions (tenant_id, kind, decided_at);
