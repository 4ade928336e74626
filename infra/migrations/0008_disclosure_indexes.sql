-- depends: 0006_disclosure
-- The public list's name filter (listing title or merchant name contains a string: ILIKE '%...%') cannot use
-- a b-tree; without these a rare or absent name scans every published record. Trigram GIN indexes let the
-- planner fetch just the matching rows (it still walks disclosures_public in order when a name is common).
--
-- pg_trgm ships with PostgreSQL's contrib and is a trusted extension (the database owner may create it), but
-- the embedded server used by `noticehub dev` (pgserver) has no contrib: there the indexes are skipped with
-- a notice and the filter still works, just without an index. Searches shorter than three characters
-- (e.g. two CJK characters) have no trigram and cannot use these indexes either.
--
-- On a large existing table, build the indexes by hand first with CREATE INDEX CONCURRENTLY (same names and
-- definitions); this migration then finds them and only records itself.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
    RAISE NOTICE 'pg_trgm is not available: the disclosures name filter will run without trigram indexes';
    RETURN;
  END IF;
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
  CREATE INDEX IF NOT EXISTS disclosures_public_title_trgm ON disclosures
    USING gin (listing_title gin_trgm_ops) WHERE status = 'published';
  CREATE INDEX IF NOT EXISTS disclosures_public_merchant_trgm ON disclosures
    USING gin (merchant_name gin_trgm_ops) WHERE status = 'published';
END $$;
