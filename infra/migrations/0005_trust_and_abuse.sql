-- depends: 0002_notice_and_action
-- Suspension of handling, strikes and account restrictions, notifier statistics and trust, human
-- overrides, appeals.

ALTER TABLE cases ADD COLUMN notifier_id uuid;
ALTER TABLE cases ADD COLUMN unfounded boolean NOT NULL DEFAULT false;
ALTER TABLE cases ADD COLUMN automated_measures boolean NOT NULL DEFAULT false;
ALTER TABLE ip_rights ADD COLUMN invalidation_outcome text
  CHECK (invalidation_outcome IN ('invalidated', 'upheld', 'withdrawn'));
ALTER TABLE ip_rights ADD COLUMN invalidation_decided_at timestamptz;
ALTER TABLE parties ADD COLUMN trusted_since timestamptz;

CREATE TABLE suspensions (
  tenant_id        uuid NOT NULL,
  id               uuid NOT NULL,
  case_id          uuid NOT NULL,
  ip_right_id      uuid,
  ground           text NOT NULL,
  evidence         jsonb NOT NULL DEFAULT '[]',
  harm_statement   text NOT NULL DEFAULT '',
  status           text NOT NULL CHECK (status IN ('requested', 'granted', 'refused', 'lifted')),
  requested_by     text NOT NULL,
  requested_at     timestamptz NOT NULL,
  decided_by       text,
  decided_at       timestamptz,
  review_at        timestamptz,
  lifted_at        timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, case_id) REFERENCES cases(tenant_id, id)
);
CREATE INDEX suspensions_case ON suspensions (tenant_id, case_id);
CREATE INDEX suspensions_right ON suspensions (tenant_id, ip_right_id) WHERE status = 'granted';

CREATE TABLE strikes (
  tenant_id    uuid NOT NULL,
  id           uuid NOT NULL,
  merchant_id  uuid NOT NULL,
  case_id      uuid NOT NULL,
  right_type   text NOT NULL,
  weight       double precision NOT NULL,
  recorded_at  timestamptz NOT NULL,
  voided_at    timestamptz,
  void_reason  text,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX strikes_merchant ON strikes (tenant_id, merchant_id, recorded_at) WHERE voided_at IS NULL;
CREATE INDEX strikes_case ON strikes (tenant_id, case_id);

CREATE TABLE account_restrictions (
  tenant_id   uuid NOT NULL,
  id          uuid NOT NULL,
  party_id    uuid NOT NULL,
  reason      text NOT NULL CHECK (reason IN ('repeat_infringer', 'unfounded_notices')),
  kind        text NOT NULL CHECK (kind IN ('warning', 'suspension', 'termination')),
  counts      jsonb NOT NULL DEFAULT '{}',
  starts_at   timestamptz NOT NULL,
  ends_at     timestamptz,
  ended_at    timestamptz,
  end_reason  text,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX account_restrictions_party ON account_restrictions (tenant_id, party_id, starts_at);

-- Per notifier and day: the rolling record behind notifierStats, abuse and trust rules. Kept by the
-- use cases in the same transaction, so reading a window is a sum over at most window_days rows.
CREATE TABLE notifier_days (
  tenant_id                uuid NOT NULL,
  party_id                 uuid NOT NULL,
  day                      date NOT NULL,
  notices                  integer NOT NULL DEFAULT 0,
  cases                    integer NOT NULL DEFAULT 0,
  accepted                 integer NOT NULL DEFAULT 0,
  rejected                 integer NOT NULL DEFAULT 0,
  unfounded                integer NOT NULL DEFAULT 0,
  successful_declarations  integer NOT NULL DEFAULT 0,
  withdrawn                integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, party_id, day)
);

CREATE TABLE override_cooloffs (
  tenant_id     uuid NOT NULL,
  listing_id    uuid NOT NULL,
  measure_type  text NOT NULL,
  until         timestamptz NOT NULL,
  case_id       uuid NOT NULL,
  PRIMARY KEY (tenant_id, listing_id, measure_type)
);

CREATE TABLE appeals (
  tenant_id       uuid NOT NULL,
  id              uuid NOT NULL,
  decision_id     uuid NOT NULL,
  case_id         uuid,
  appellant_id    uuid NOT NULL,
  grounds         text NOT NULL,
  explanation     text NOT NULL DEFAULT '',
  evidence        jsonb NOT NULL DEFAULT '[]',
  status          text NOT NULL CHECK (status IN ('filed', 'upheld', 'rejected')),
  filed_at        timestamptz NOT NULL,
  decided_at      timestamptz,
  decided_by      text,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX appeals_decision ON appeals (tenant_id, decision_id);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['suspensions', 'strikes', 'account_restrictions', 'notifier_days', 'override_cooloffs',
                           'appeals'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO noticehub_app USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id())', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO noticehub_app', t);
  END LOOP;
END $$;
