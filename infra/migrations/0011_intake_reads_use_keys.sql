-- depends: 0010_intake_reads
-- Every read in intake_references and party_standing is a lookup by key. A PL/pgSQL plan is kept until
-- something invalidates it; one made while a table was small (a new tenant, a fresh database) scanned it
-- whole and went on scanning it as it grew: in the benchmark, intake slowed from 0.5 to 2 ms per notice
-- over 30,000 idempotency keys, until the next ANALYZE. Without sequential scans the plans use the keys'
-- indexes at any size. The listings a notice names are looked up by id and by external id separately
-- (an OR of the two walked every listing of the merchant once sequential scans were off).
CREATE OR REPLACE FUNCTION intake_references(operation text, keys text[], party_ids uuid[], right_ids uuid[],
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

ALTER FUNCTION party_standing(uuid, uuid[], boolean, date) SET enable_seqscan = off;
