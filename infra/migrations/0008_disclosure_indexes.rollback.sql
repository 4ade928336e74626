DROP INDEX IF EXISTS disclosures_public_merchant_trgm;
DROP INDEX IF EXISTS disclosures_public_title_trgm;
-- The extension goes too unless something else has come to use it.
DO $$
BEGIN
  DROP EXTENSION IF EXISTS pg_trgm;
EXCEPTION WHEN dependent_objects_still_exist THEN
  RAISE NOTICE 'pg_trgm is still used by other objects; kept';
END $$;
