-- depends: 0007_statements_and_reports
-- The version in force, kept on the tenant row by a trigger, so the statement that enters a tenant's
-- transaction (role, tenant, test clock) also says which policy version applies: one round trip less for
-- every use case that evaluates policy. policy_versions stays the source of truth; the trigger is the only
-- writer of the copy (a published row is inserted by a preset, or a draft is published).
ALTER TABLE tenants ADD COLUMN policy_version integer;
UPDATE tenants t SET policy_version = p.version
  FROM policy_versions p WHERE p.tenant_id = t.id AND p.status = 'published';
GRANT UPDATE (policy_version) ON tenants TO noticehub_app;

CREATE FUNCTION track_published_policy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'published' THEN
    UPDATE tenants SET policy_version = NEW.version WHERE id = NEW.tenant_id;
    IF NOT FOUND THEN  -- never leave a stale copy behind (e.g. a role that cannot see the tenant row)
      RAISE EXCEPTION 'tenant % not updated with its published policy version', NEW.tenant_id;
    END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER policy_versions_published AFTER INSERT OR UPDATE OF status ON policy_versions
  FOR EACH ROW EXECUTE FUNCTION track_published_policy();
