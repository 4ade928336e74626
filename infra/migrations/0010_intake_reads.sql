-- depends: 0009_outbox_wakes_relay
-- Notice intake's reads as two functions, for their query plans.
--
-- intake_references: everything intake refers to (with the filers' standing for their account rules), in
-- one call. As a plain prepared statement PostgreSQL planned it afresh on every execution (its generic
-- plan, costed for ten-element arrays, never beat the custom plans for one-element ones): ~0.4 ms of
-- planning per notice for a 0.07 ms execution. A PL/pgSQL query keeps its generic plan, which the
-- function's own setting asks for.
--
-- Both functions run with sequential scans off: every read in them is a lookup by key, and a kept plan
-- made while a table was small (a new tenant, a fresh database) would otherwise go on scanning it as it
-- grows (in the benchmark: 0.5 -> 2 ms per notice over 30,000 idempotency keys, until the next ANALYZE).
-- The listings a notice names are looked up by id and by external id separately (an OR of the two walked
-- every listing of the merchant once sequential scans were off).
--
-- party_standing: trust, restrictions and notifier totals of some parties; with `take_locks` it first takes
-- their account-rule locks (decision 0011). Each query of a VOLATILE PL/pgSQL function takes a new
-- snapshot, so the reads see what committed while it waited for a lock: lock and read in one round trip.
-- Both run as the caller (row-level security applies as usual).

CREATE TYPE idempotency_replay AS (key text, request_hash bytea, result text);
CREATE TYPE party_contacts AS (party_id uuid, legal_name boolean, email boolean, address boolean, phone boolean);
CREATE TYPE party_restriction AS (party_id uuid, id uuid, kind text, reason text, starts_at timestamptz,
                                  ends_at timestamptz, ended_at timestamptz);
CREATE TYPE party_name AS (id uuid, display_name text);
CREATE TYPE listing_cooloff AS (listing_id uuid, measure_type text);
CREATE TYPE party_trust AS (id uuid, trusted_since timestamptz);
CREATE TYPE notifier_totals AS (party_id uuid, notices integer, cases integer, accepted integer, rejected integer,
                                unfounded integer, successful_declarations integer, withdrawn integer);

-- Oldest first. This and the next are plain SQL functions, inlined into the two below.
CREATE FUNCTION party_restrictions(party_ids uuid[]) RETURNS party_restriction[]
  LANGUAGE sql STABLE AS $$
  SELECT array(SELECT row(r.party_id, r.id, r.kind, r.reason, r.starts_at, r.ends_at, r.ended_at)::party_restriction
               FROM account_restrictions r WHERE r.party_id = any(party_ids) ORDER BY r.starts_at)
$$;

CREATE FUNCTION notifier_totals_since(party_ids uuid[], since date) RETURNS notifier_totals[]
  LANGUAGE sql STABLE AS $$
  SELECT array(SELECT row(d.party_id, sum(d.notices)::int, sum(d.cases)::int, sum(d.accepted)::int,
                          sum(d.rejected)::int, sum(d.unfounded)::int, sum(d.successful_declarations)::int,
                          sum(d.withdrawn)::int)::notifier_totals
               FROM notifier_days d WHERE since IS NOT NULL AND d.party_id = any(party_ids) AND d.day > since
               GROUP BY d.party_id)
$$;

CREATE FUNCTION intake_references(operation text, keys text[], party_ids uuid[], right_ids uuid[],
                                  listing_ids uuid[], listing_external_ids text[], at timestamptz,
                                  records_since date)
  RETURNS TABLE (replays idempotency_replay[], parties parties[], contacts party_contacts[],
                 restrictions party_restriction[], records notifier_totals[], rights ip_rights[],
                 by_id listings[], by_external_id listings[], merchants party_name[], cooling listing_cooloff[])
  LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
BEGIN
  RETURN QUERY SELECT
    array(SELECT row(k.key, k.request_hash, k.result::text)::idempotency_replay FROM idempotency_keys k
          WHERE k.operation = intake_references.operation AND k.key = any(keys)),
    array(SELECT p FROM parties p WHERE p.id = any(party_ids)),
    array(SELECT row(d.party_id, d.legal_name IS NOT NULL AND d.legal_name <> '', d.email IS NOT NULL,
                     d.address IS NOT NULL, d.phone IS NOT NULL)::party_contacts
          FROM party_personal_data d WHERE d.party_id = any(party_ids)),
    party_restrictions(party_ids),
    notifier_totals_since(party_ids, records_since),
    array(SELECT i FROM ip_rights i WHERE i.id = any(right_ids)),
    array(SELECT l FROM listings l WHERE l.id = any(listing_ids)),
    array(SELECT l FROM listings l WHERE l.external_id = any(listing_external_ids)),
    array(SELECT row(m.id, m.display_name)::party_name FROM parties m WHERE m.id IN (
            SELECT l.merchant_id FROM listings l WHERE l.id = any(listing_ids)
            UNION SELECT l.merchant_id FROM listings l WHERE l.external_id = any(listing_external_ids))),
    array(SELECT row(c.listing_id, c.measure_type)::listing_cooloff FROM override_cooloffs c
          WHERE c.until > at AND c.listing_id IN (
            SELECT unnest(listing_ids)
            UNION SELECT l.id FROM listings l WHERE l.external_id = any(listing_external_ids)));
END $$;

CREATE FUNCTION party_standing(tenant uuid, party_ids uuid[], take_locks boolean, records_since date)
  RETURNS TABLE (trusted party_trust[], restrictions party_restriction[], records notifier_totals[])
  LANGUAGE plpgsql VOLATILE SET enable_seqscan = off AS $$
BEGIN
  IF take_locks THEN  -- in id order: no lock-order deadlock between transactions
    PERFORM pg_advisory_xact_lock(hashtextextended(tenant::text || p::text, 0))
      FROM unnest(party_ids) AS p ORDER BY p;
  END IF;
  RETURN QUERY SELECT
    array(SELECT row(p.id, p.trusted_since)::party_trust FROM parties p WHERE p.id = any(party_ids)),
    party_restrictions(party_ids),
    notifier_totals_since(party_ids, records_since);
END $$;
