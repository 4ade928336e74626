-- depends: 0010_intake_reads
-- Intake's reads look every key up on its own, whatever the table statistics say.
--
-- Written as `column = any(array)`, the planner chose by its statistics between probing the index once per
-- array element and walking all of the tenant's rows under the leading index columns, testing each against
-- the whole array. Statistics are table-wide: with many tenants, each looks small to the planner (and a new
-- tenant, or a table grown since its last ANALYZE, looks empty), so it chose the walk and kept it in the
-- cached plan: a
-- 1,000-notice batch read all of the tenant's idempotency keys and compared each with 1,000 keys
-- (25 -> 116 ms over six batches, growing with every batch; notifier_days went the same way, walking every
-- notifier's days). Here each key is a LATERAL subquery the planner cannot flatten (LIMIT 1 for unique
-- keys, OFFSET 0 where a key has several rows), so the only plan is one index probe per key: the work
-- follows the batch, not the tenant's history. The functions return what 0010's returned.

CREATE OR REPLACE FUNCTION party_restrictions(party_ids uuid[]) RETURNS party_restriction[]
  LANGUAGE sql STABLE AS $$
  SELECT array(SELECT row(r.party_id, r.id, r.kind, r.reason, r.starts_at, r.ends_at, r.ended_at)::party_restriction
               FROM (SELECT DISTINCT unnest(party_ids)) AS q(id)
               CROSS JOIN LATERAL (SELECT * FROM account_restrictions r WHERE r.party_id = q.id OFFSET 0) AS r
               ORDER BY r.starts_at)
$$;

CREATE OR REPLACE FUNCTION notifier_totals_since(party_ids uuid[], since date) RETURNS notifier_totals[]
  LANGUAGE sql STABLE AS $$
  SELECT array(SELECT row(q.id, t.notices, t.cases, t.accepted, t.rejected, t.unfounded, t.successful_declarations,
                          t.withdrawn)::notifier_totals
               FROM (SELECT DISTINCT unnest(party_ids)) AS q(id)
               CROSS JOIN LATERAL (
                 SELECT count(*) AS days, sum(d.notices)::int AS notices, sum(d.cases)::int AS cases,
                        sum(d.accepted)::int AS accepted, sum(d.rejected)::int AS rejected,
                        sum(d.unfounded)::int AS unfounded,
                        sum(d.successful_declarations)::int AS successful_declarations,
                        sum(d.withdrawn)::int AS withdrawn
                 FROM notifier_days d WHERE d.party_id = q.id AND d.day > since) AS t
               WHERE since IS NOT NULL AND t.days > 0)
$$;

CREATE OR REPLACE FUNCTION intake_references(operation text, keys text[], party_ids uuid[], right_ids uuid[],
                                             listing_ids uuid[], listing_external_ids text[], at timestamptz,
                                             records_since date)
  RETURNS TABLE (replays idempotency_replay[], parties parties[], contacts party_contacts[],
                 restrictions party_restriction[], records notifier_totals[], rights ip_rights[],
                 by_id listings[], by_external_id listings[], merchants party_name[], cooling listing_cooloff[])
  LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
BEGIN
  RETURN QUERY
  WITH found_by_id AS (
    SELECT x.l FROM (SELECT DISTINCT unnest(listing_ids)) AS q(id)
    CROSS JOIN LATERAL (SELECT l FROM listings l WHERE l.id = q.id LIMIT 1) AS x
  ), found_by_external_id AS (
    SELECT x.l FROM (SELECT DISTINCT unnest(listing_external_ids)) AS q(external_id)
    CROSS JOIN LATERAL (SELECT l FROM listings l WHERE l.external_id = q.external_id LIMIT 1) AS x
  ), named AS (
    SELECT (f.l).id, (f.l).merchant_id FROM found_by_id f
    UNION SELECT (f.l).id, (f.l).merchant_id FROM found_by_external_id f
  )
  SELECT
    array(SELECT row(k.key, k.request_hash, k.result::text)::idempotency_replay
          FROM (SELECT DISTINCT unnest(keys)) AS q(key)
          CROSS JOIN LATERAL (SELECT * FROM idempotency_keys k
                              WHERE k.operation = intake_references.operation AND k.key = q.key LIMIT 1) AS k),
    array(SELECT x.p FROM (SELECT DISTINCT unnest(party_ids)) AS q(id)
          CROSS JOIN LATERAL (SELECT p FROM parties p WHERE p.id = q.id LIMIT 1) AS x),
    array(SELECT row(d.party_id, d.legal_name IS NOT NULL AND d.legal_name <> '', d.email IS NOT NULL,
                     d.address IS NOT NULL, d.phone IS NOT NULL)::party_contacts
          FROM (SELECT DISTINCT unnest(party_ids)) AS q(id)
          CROSS JOIN LATERAL (SELECT * FROM party_personal_data d WHERE d.party_id = q.id LIMIT 1) AS d),
    party_restrictions(party_ids),
    notifier_totals_since(party_ids, records_since),
    array(SELECT x.i FROM (SELECT DISTINCT unnest(right_ids)) AS q(id)
          CROSS JOIN LATERAL (SELECT i FROM ip_rights i WHERE i.id = q.id LIMIT 1) AS x),
    array(SELECT f.l FROM found_by_id f),
    array(SELECT f.l FROM found_by_external_id f),
    array(SELECT x.m FROM (SELECT DISTINCT n.merchant_id FROM named n) AS q(id)
          CROSS JOIN LATERAL (SELECT row(m.id, m.display_name)::party_name AS m FROM parties m
                              WHERE m.id = q.id LIMIT 1) AS x),
    array(SELECT row(c.listing_id, c.measure_type)::listing_cooloff FROM named n
          CROSS JOIN LATERAL (SELECT * FROM override_cooloffs c WHERE c.listing_id = n.id AND c.until > at
                              OFFSET 0) AS c);
END $$;

CREATE OR REPLACE FUNCTION party_standing(tenant uuid, party_ids uuid[], take_locks boolean, records_since date)
  RETURNS TABLE (trusted party_trust[], restrictions party_restriction[], records notifier_totals[])
  LANGUAGE plpgsql VOLATILE SET enable_seqscan = off AS $$
BEGIN
  IF take_locks THEN  -- in id order: no lock-order deadlock between transactions
    PERFORM pg_advisory_xact_lock(hashtextextended(tenant::text || p::text, 0))
      FROM unnest(party_ids) AS p ORDER BY p;
  END IF;
  RETURN QUERY SELECT
    array(SELECT x.t FROM (SELECT DISTINCT unnest(party_ids)) AS q(id)
          CROSS JOIN LATERAL (SELECT row(p.id, p.trusted_since)::party_trust AS t FROM parties p
                              WHERE p.id = q.id LIMIT 1) AS x),
    party_restrictions(party_ids),
    notifier_totals_since(party_ids, records_since);
END $$;
