-- The deliverer takes each endpoint's next due message and skips endpoints
-- with one in flight: both are looked up per endpoint.
create index webhook_messages_endpoint_pending on webhook_messages (endpoint_id, status, next_attempt_at);
