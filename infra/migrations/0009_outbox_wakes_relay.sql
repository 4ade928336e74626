-- depends: 0008_tenant_policy_version
-- Every statement that adds outbox rows wakes the relay (NOTIFY is delivered at COMMIT, and identical
-- notifications of one transaction are folded into one). Done by the database, so the application's
-- final write of a transaction (staged rows as data-modifying CTEs) can end in any query it needs.
CREATE FUNCTION notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('noticehub_outbox', '');
  RETURN NULL;
END $$;

CREATE TRIGGER outbox_wakes_relay AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox();
