DROP FUNCTION IF EXISTS party_standing(uuid, uuid[], boolean, date);
DROP FUNCTION IF EXISTS intake_references(text, text[], uuid[], uuid[], uuid[], text[], timestamptz, date);
DROP FUNCTION IF EXISTS notifier_totals_since(uuid[], date);
DROP FUNCTION IF EXISTS party_restrictions(uuid[]);
DROP TYPE IF EXISTS notifier_totals, party_trust, listing_cooloff, party_name, party_restriction, party_contacts,
  idempotency_replay;
