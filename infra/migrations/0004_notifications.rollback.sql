DROP TABLE IF EXISTS webhook_attempts, webhook_deliveries, webhook_endpoints, email_messages CASCADE;
DELETE FROM deadlines WHERE kind IN ('webhook_wakeup', 'email_wakeup');
