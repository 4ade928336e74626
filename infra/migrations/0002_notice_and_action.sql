-- depends: 0001_foundation
-- Notice-and-action core: policy versions, notices, cases, measures, declarations, action proofs,
-- and the append-only, hash-chained decision record.

CREATE TABLE policy_versions (
  tenant_id     uuid NOT NULL REFERENCES tenants(id),
  id            uuid NOT NULL,
  version       integer NOT NULL CHECK (version > 0),
  status        text NOT NULL CHECK (status IN ('draft', 'published', 'superseded')),
  document      jsonb NOT NULL,
  based_on      text NOT NULL,
  note          text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    text NOT NULL,
  published_at  timestamptz,
  published_by  text,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, version)
);
-- At most one published version per tenant: the one in force.
CREATE UNIQUE INDEX policy_versions_one_published ON policy_versions (tenant_id) WHERE status = 'published';

CREATE TABLE notices (
  tenant_id        uuid NOT NULL,
  id               uuid NOT NULL,
  complainant_id   uuid NOT NULL,
  agent_id         uuid,
  ip_right_id      uuid NOT NULL,
  reason_code      text NOT NULL,
  explanation      text NOT NULL DEFAULT '',
  evidence         jsonb NOT NULL DEFAULT '[]',
  statements       jsonb NOT NULL DEFAULT '{}',
  signature        text,
  channel          text NOT NULL DEFAULT 'api',
  idempotency_key  text,
  policy_version   integer NOT NULL,
  trusted          boolean NOT NULL DEFAULT false,
  received_at      timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, complainant_id) REFERENCES parties(tenant_id, id),
  FOREIGN KEY (tenant_id, ip_right_id) REFERENCES ip_rights(tenant_id, id)
);
CREATE INDEX notices_complainant ON notices (tenant_id, complainant_id, received_at);

CREATE TABLE cases (
  tenant_id             uuid NOT NULL,
  id                    uuid NOT NULL,
  notice_id             uuid NOT NULL,
  listing_id            uuid NOT NULL,
  merchant_id           uuid NOT NULL,
  state                 text NOT NULL,
  suspended_from        text,
  measures_active       boolean NOT NULL DEFAULT false,
  priority              smallint NOT NULL DEFAULT 0,
  review_due_at         timestamptz,
  declaration_id        uuid,
  window_starts_at      timestamptz,
  window_earliest_end_at timestamptz,
  window_ends_at        timestamptz,
  outcome_at            timestamptz,
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  revision              integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, notice_id) REFERENCES notices(tenant_id, id),
  FOREIGN KEY (tenant_id, listing_id) REFERENCES listings(tenant_id, id)
);
CREATE INDEX cases_notice ON cases (tenant_id, notice_id);
CREATE INDEX cases_listing ON cases (tenant_id, listing_id);
CREATE INDEX cases_merchant ON cases (tenant_id, merchant_id);
CREATE INDEX cases_queue ON cases (tenant_id, state, priority DESC, review_due_at, id);

CREATE TABLE measures (
  tenant_id          uuid NOT NULL,
  id                 uuid NOT NULL,
  case_id            uuid NOT NULL,
  listing_id         uuid NOT NULL,
  type               text NOT NULL,
  territorial_scope  text[] NOT NULL DEFAULT '{}',
  status             text NOT NULL CHECK (status IN ('requested', 'applied', 'failed', 'lifted', 'ended')),
  automated          boolean NOT NULL DEFAULT false,
  requested_at       timestamptz NOT NULL,
  applied_at         timestamptz,
  failed_reason      text,
  lifted_at          timestamptz,
  end_date           date,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, case_id) REFERENCES cases(tenant_id, id)
);
CREATE INDEX measures_case ON measures (tenant_id, case_id);
CREATE INDEX measures_listing_active ON measures (tenant_id, listing_id) WHERE status IN ('requested', 'applied');

CREATE TABLE declarations (
  tenant_id       uuid NOT NULL,
  id              uuid NOT NULL,
  merchant_id     uuid NOT NULL,
  grounds         text NOT NULL,
  explanation     text NOT NULL DEFAULT '',
  evidence        jsonb NOT NULL DEFAULT '[]',
  statements      jsonb NOT NULL DEFAULT '{}',
  identity        jsonb NOT NULL DEFAULT '{}',
  status          text NOT NULL CHECK (status IN ('submitted', 'accepted', 'rejected')),
  policy_version  integer NOT NULL,
  idempotency_key text,
  received_at     timestamptz NOT NULL,
  reviewed_at     timestamptz,
  forwarded_at    timestamptz,
  delivered_at    timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, merchant_id) REFERENCES parties(tenant_id, id)
);

CREATE TABLE action_proofs (
  tenant_id     uuid NOT NULL,
  id            uuid NOT NULL,
  case_id       uuid NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('complaint', 'lawsuit')),
  authority     text NOT NULL,
  reference     text NOT NULL,
  filed_on      date NOT NULL,
  evidence      jsonb NOT NULL DEFAULT '[]',
  submitted_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, case_id) REFERENCES cases(tenant_id, id)
);

-- The accountability record. Append-only for the application (no UPDATE/DELETE grant); each row's
-- hash covers its content and the previous row's hash in the tenant's chain.
CREATE TABLE decisions (
  tenant_id       uuid NOT NULL,
  seq             bigint NOT NULL,
  id              uuid NOT NULL,
  subject_type    text NOT NULL,
  subject_id      uuid NOT NULL,
  case_id         uuid,
  kind            text NOT NULL,
  outcome         text NOT NULL,
  actor           text NOT NULL,
  automated       boolean NOT NULL,
  policy_version  integer,
  rules           jsonb NOT NULL DEFAULT '[]',
  reasons         jsonb NOT NULL DEFAULT '[]',
  reason_text     text NOT NULL DEFAULT '',
  trace_id        text,
  span_id         text,
  decided_at      timestamptz NOT NULL,
  prev_hash       bytea NOT NULL,
  hash            bytea NOT NULL,
  PRIMARY KEY (tenant_id, seq),
  UNIQUE (tenant_id, id)
);
CREATE INDEX decisions_subject ON decisions (tenant_id, subject_id, seq);
CREATE INDEX decisions_case ON decisions (tenant_id, case_id, seq) WHERE case_id IS NOT NULL;

-- The head of each tenant's chain; updating it serialises appends per tenant.
CREATE TABLE decision_chain_heads (
  tenant_id  uuid PRIMARY KEY,
  seq        bigint NOT NULL,
  hash       bytea NOT NULL
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['policy_versions', 'notices', 'cases', 'measures', 'declarations', 'action_proofs',
                           'decisions', 'decision_chain_heads'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO noticehub_app USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON policy_versions, notices, cases, measures, declarations, action_proofs,
  decision_chain_heads TO noticehub_app;
GRANT SELECT, INSERT ON decisions TO noticehub_app;
