-- Idempotency-Key of the management API's writes: the first successful
-- answer for a key, kept 24 hours, its secrets removed.
create table idempotency_keys (
    client_id text not null,
    idem_key text not null,
    -- SHA-256 of method, path and body: the same key with another request
    -- is refused.
    request_hash text not null,
    -- Null while the first request with this key runs.
    status integer,
    response text,
    created_at bigint not null,
    primary key (client_id, idem_key)
);

create index idempotency_keys_age on idempotency_keys (created_at);
