DROP TRIGGER IF EXISTS outbox_wakes_relay ON outbox;
DROP FUNCTION IF EXISTS notify_outbox();
