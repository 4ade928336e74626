-- The function as 0010 created it.
CREATE OR REPLACE FUNCTION intake_references(operation text, keys text[], party_ids uuid[], right_ids uuid[],
                                  listing_ids uuid[], listing_external_ids text[], at timestamptz,
                                  records_since date)
  RETURNS TABLE (replays idempotency_replay[], parties parties[], contacts party_contacts[],
                 restrictions party_restriction[], records notifier_totals[], rights ip_rights[],
                 by_id listings[], by_external_id listings[], merchants party_name[], cooling listing_cooloff[])
  LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
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
                                                    OR l.external_id = any(listing_external_ids))),
    array(SELECT row(c.listing_id, c.measure_type)::listing_cooloff FROM override_cooloffs c
          WHERE c.until > at AND (c.listing_id = any(listing_ids) OR c.listing_id IN (
            SELECT l.id FROM listings l WHERE l.external_id = any(listing_external_ids))));
END $$;

ALTER FUNCTION party_standing(uuid, uuid[], boolean, date) RESET enable_seqscan;
