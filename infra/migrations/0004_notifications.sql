-- depends: 0002_notice_and_action
-- Notifications: webhook endpoints (per tenant, signing secrets shown once), one delivery row per
-- endpoint and event with its attempt log, and emails to parties. Deliveries and emails are driven
-- by claims with leases plus one durable wake-up deadline per tenant (see domain/services/notifications.py).

CREATE TABLE webhook_endpoints (
  tenant_id                  uuid NOT NULL REFERENCES tenants(id),
  id                         uuid NOT NULL,
  url                        text NOT NULL,
  description                text NOT NULL DEFAULT '',
  events                     text[] NOT NULL,
  -- Never returned by the API after creation/rotation; only the sender reads it to sign.
  secret                     text NOT NULL,
  previous_secret            text,
  previous_secret_valid_until timestamptz,
  secret_rotated_at          timestamptz,
  active                     boolean NOT NULL DEFAULT true,
  created_at                 timestamptz NOT NULL,
  updated_at                 timestamptz NOT NULL,
  disabled_at                timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX webhook_endpoints_active ON webhook_endpoints (tenant_id) WHERE active;

CREATE TABLE webhook_deliveries (
  tenant_id         uuid NOT NULL,
  id                uuid NOT NULL,
  endpoint_id       uuid NOT NULL,
  event_id          uuid NOT NULL,  -- the outbox id: webhook-id header and payload id (receivers dedupe on it)
  topic             text NOT NULL,
  ordering_key      text,           -- the case: deliveries of one key go to one endpoint in event order
  payload           jsonb NOT NULL,
  status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'dead')),
  attempts          integer NOT NULL DEFAULT 0,
  max_attempts      integer NOT NULL,
  next_attempt_at   timestamptz,
  lease_until       timestamptz,
  last_status_code  integer,
  last_error        text,
  last_latency_ms   integer,
  acknowledged      boolean NOT NULL DEFAULT false,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  delivered_at      timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, endpoint_id, event_id),
  FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints(tenant_id, id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (tenant_id, next_attempt_at)
  WHERE status IN ('pending', 'failed');
CREATE INDEX webhook_deliveries_sending ON webhook_deliveries (tenant_id, lease_until) WHERE status = 'sending';
CREATE INDEX webhook_deliveries_line ON webhook_deliveries (tenant_id, endpoint_id, ordering_key, event_id)
  WHERE status IN ('pending', 'sending', 'failed');
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (tenant_id, endpoint_id, id);

CREATE TABLE webhook_attempts (
  tenant_id     uuid NOT NULL,
  delivery_id   uuid NOT NULL,
  attempt       integer NOT NULL,
  endpoint_id   uuid NOT NULL,
  started_at    timestamptz NOT NULL,
  status_code   integer,
  error         text,
  latency_ms    integer NOT NULL,
  outcome       text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'dead')),
  recorded_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, delivery_id, attempt),
  FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries(tenant_id, id)
);

CREATE TABLE email_messages (
  tenant_id           uuid NOT NULL,
  id                  uuid NOT NULL,
  event_id            uuid NOT NULL,
  template            text NOT NULL,
  recipient_party_id  uuid NOT NULL,  -- the address is read from party_personal_data when sending
  locale              text NOT NULL,
  subject             text NOT NULL,
  body                text NOT NULL,
  status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dead', 'skipped')),
  attempts            integer NOT NULL DEFAULT 0,
  max_attempts        integer NOT NULL,
  next_attempt_at     timestamptz,
  lease_until         timestamptz,
  transport           text,
  last_error          text,
  created_at          timestamptz NOT NULL,
  sent_at             timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, event_id, template, recipient_party_id),
  FOREIGN KEY (tenant_id, recipient_party_id) REFERENCES parties(tenant_id, id)
);
CREATE INDEX email_messages_due ON email_messages (tenant_id, next_attempt_at) WHERE status IN ('pending', 'failed');
CREATE INDEX email_messages_sending ON email_messages (tenant_id, lease_until) WHERE status = 'sending';

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['webhook_endpoints', 'webhook_deliveries', 'webhook_attempts', 'email_messages'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO noticehub_app USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON webhook_endpoints, webhook_deliveries, webhook_attempts, email_messages
  TO noticehub_app;

-- Backlog gauges (metrics) read across tenants as the system role; counts only, no payloads needed.
CREATE POLICY system_read ON webhook_deliveries FOR SELECT TO noticehub_system USING (true);
CREATE POLICY system_read ON email_messages FOR SELECT TO noticehub_system USING (true);
GRANT SELECT (tenant_id, status, next_attempt_at, created_at) ON webhook_deliveries TO noticehub_system;
GRANT SELECT (tenant_id, status, next_attempt_at, created_at) ON email_messages TO noticehub_system;
