DROP TABLE IF EXISTS idempotency_keys, deadlines, processed_messages, outbox, listings, ip_rights,
  party_personal_data, parties, api_keys, tenants CASCADE;
DROP FUNCTION IF EXISTS current_tenant_id();
