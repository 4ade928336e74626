-- Foundation: roles, tenancy, API keys, reference data, outbox, durable deadlines, idempotency.
-- Every tenant-owned table is keyed by tenant_id first and protected by FORCE row-level security.

DO $$ BEGIN CREATE ROLE noticehub_app NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE noticehub_system NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
-- The login role switches into these per transaction (SET LOCAL ROLE); it must be a member.
DO $$ BEGIN
  EXECUTE format('GRANT noticehub_app, noticehub_system TO %I', current_user);
EXCEPTION WHEN others THEN NULL; END $$;

GRANT USAGE ON SCHEMA public TO noticehub_app, noticehub_system;

-- NULL when unset: policies then match nothing (fail closed).
CREATE OR REPLACE FUNCTION current_tenant_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
  id               uuid PRIMARY KEY,
  slug             text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  timezone         text NOT NULL,
  holiday_country  text NOT NULL CHECK (holiday_country ~ '^[A-Z]{2}$'),
  mode             text NOT NULL CHECK (mode IN ('live', 'sandbox')),
  clock_offset     interval NOT NULL DEFAULT '0' CHECK (mode = 'sandbox' OR clock_offset = '0'),
  created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  tenant_id     uuid NOT NULL REFERENCES tenants(id),
  id            uuid NOT NULL,
  name          text NOT NULL,
  prefix        text NOT NULL,
  key_hash      bytea NOT NULL UNIQUE,
  roles         text[] NOT NULL CHECK (roles <@ ARRAY['integration', 'reviewer', 'admin', 'auditor'] AND cardinality(roles) > 0),
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz,
  last_used_at  timestamptz,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE parties (
  tenant_id     uuid NOT NULL REFERENCES tenants(id),
  id            uuid NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('rights_holder', 'agent', 'merchant')),
  external_ref  text NOT NULL,
  display_name  text NOT NULL,
  country       text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, external_ref)
);

-- Personal data lives apart from display data so that nothing that publishes or exports parties can reach it.
CREATE TABLE party_personal_data (
  tenant_id   uuid NOT NULL,
  party_id    uuid NOT NULL,
  legal_name  text,
  email       text,
  phone       text,
  address     text,
  id_number   text,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, party_id),
  FOREIGN KEY (tenant_id, party_id) REFERENCES parties(tenant_id, id)
);

CREATE TABLE ip_rights (
  tenant_id                  uuid NOT NULL,
  id                         uuid NOT NULL,
  holder_id                  uuid NOT NULL,
  type                       text NOT NULL CHECK (type IN ('trademark', 'patent', 'design', 'copyright', 'geographical_indication', 'trade_secret')),
  registration_number        text NOT NULL,
  jurisdiction               text NOT NULL,
  title                      text,
  classes                    text[] NOT NULL DEFAULT '{}',
  valid_from                 date,
  valid_until                date,
  verification_status        text NOT NULL DEFAULT 'unverified' CHECK (verification_status IN ('unverified', 'verified', 'rejected')),
  legal_status               text NOT NULL DEFAULT 'active' CHECK (legal_status IN ('active', 'expired', 'invalidation_pending', 'invalidated')),
  invalidation_office        text,
  invalidation_case_number   text,
  invalidation_accepted_at   date,
  created_at                 timestamptz NOT NULL DEFAULT now(),
  updated_at                 timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, jurisdiction, type, registration_number),
  FOREIGN KEY (tenant_id, holder_id) REFERENCES parties(tenant_id, id),
  CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_from <= valid_until)
);

CREATE TABLE listings (
  tenant_id          uuid NOT NULL,
  id                 uuid NOT NULL,
  external_id        text NOT NULL,
  url                text NOT NULL,
  merchant_id        uuid NOT NULL,
  title              text NOT NULL,
  markets            text[] NOT NULL DEFAULT '{}',
  restriction_state  text NOT NULL DEFAULT 'none',
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, external_id),
  FOREIGN KEY (tenant_id, merchant_id) REFERENCES parties(tenant_id, id)
);
CREATE INDEX listings_merchant ON listings (tenant_id, merchant_id, id);

-- Transactional outbox: written in the use case's transaction, relayed to the broker after commit.
CREATE TABLE outbox (
  tenant_id      uuid NOT NULL,
  id             uuid NOT NULL,
  topic          text NOT NULL,
  ordering_key   text,
  payload        jsonb NOT NULL,
  trace_context  jsonb NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL DEFAULT now(),
  dispatched_at  timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX outbox_pending ON outbox (created_at, id) WHERE dispatched_at IS NULL;

-- Actors are idempotent: a handler runs its effect only if it can insert its row here.
CREATE TABLE processed_messages (
  tenant_id     uuid NOT NULL,
  message_id    uuid NOT NULL,
  handler       text NOT NULL,
  processed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, message_id, handler)
);

-- Durable deadlines: every timer is a row; the scheduler claims due rows with SKIP LOCKED.
CREATE TABLE deadlines (
  tenant_id      uuid NOT NULL,
  id             uuid NOT NULL,
  kind           text NOT NULL,
  subject_id     uuid NOT NULL,
  due_at         timestamptz NOT NULL,
  payload        jsonb NOT NULL DEFAULT '{}',
  status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'fired', 'cancelled', 'paused')),
  trace_context  jsonb NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL DEFAULT now(),
  fired_at       timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX deadlines_due ON deadlines (due_at) WHERE status = 'pending';
CREATE INDEX deadlines_subject ON deadlines (tenant_id, subject_id, kind);

CREATE TABLE idempotency_keys (
  tenant_id     uuid NOT NULL,
  operation     text NOT NULL,
  key           text NOT NULL,
  request_hash  bytea NOT NULL,
  result        jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, operation, key)
);

-- Row-level security: the application role sees only the transaction's tenant; the system role
-- (relay, scheduler, key lookup) may cross tenants on the few tables it needs.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['api_keys', 'parties', 'party_personal_data', 'ip_rights', 'listings', 'outbox',
                           'processed_messages', 'deadlines', 'idempotency_keys'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO noticehub_app USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO noticehub_app', t);
  END LOOP;
END $$;

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants TO noticehub_app USING (id = current_tenant_id()) WITH CHECK (id = current_tenant_id());
GRANT SELECT, UPDATE (clock_offset) ON tenants TO noticehub_app;

CREATE POLICY system_all ON tenants TO noticehub_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT ON tenants TO noticehub_system;
CREATE POLICY system_all ON api_keys TO noticehub_system USING (true) WITH CHECK (true);
GRANT SELECT, UPDATE (last_used_at) ON api_keys TO noticehub_system;
CREATE POLICY system_all ON outbox TO noticehub_system USING (true) WITH CHECK (true);
GRANT SELECT, UPDATE (dispatched_at) ON outbox TO noticehub_system;
CREATE POLICY system_all ON deadlines TO noticehub_system USING (true) WITH CHECK (true);
GRANT SELECT, UPDATE (status, fired_at) ON deadlines TO noticehub_system;
