-- Webhooks: endpoints an account's owner registers, and the durable outbox
-- of messages to them (written in the transaction of the change it tells).

create table webhook_endpoints (
    id text primary key,
    account_id text not null references accounts (id),
    url text not null,
    -- Event types it receives, space-separated.
    events text not null,
    description text not null,
    -- The signing secret, sealed with the master key: it must be read back
    -- to sign, so a keyed hash would not do.
    secret_sealed text not null,
    created_at bigint not null,
    -- Set when turned off, by its owner or for failing; null while enabled.
    disabled_at bigint,
    disabled_reason text,
    -- The first failure since the last success (null while healthy).
    failing_since bigint
);

create index webhook_endpoints_account on webhook_endpoints (account_id, created_at);

create table webhook_messages (
    -- The `webhook-id`: the same on every attempt, for the receiver to
    -- drop a duplicate.
    id text primary key,
    endpoint_id text not null references webhook_endpoints (id),
    account_id text not null references accounts (id),
    event_type text not null,
    -- The JSON body, signed as sent.
    payload text not null,
    created_at bigint not null,
    -- 'pending', 'delivered' or 'failed' (retries used up).
    status text not null check (status in ('pending', 'delivered', 'failed')),
    attempts integer not null,
    next_attempt_at bigint not null,
    -- Retries end at this time.
    give_up_at bigint not null,
    -- A node delivering it holds it until then; another takes it after.
    leased_until bigint not null,
    last_attempt_at bigint,
    last_status_code integer,
    last_error text
);

create index webhook_messages_due on webhook_messages (status, next_attempt_at);
create index webhook_messages_endpoint on webhook_messages (endpoint_id, created_at, id);

-- When each project last told its owners it was rate limited: at most one
-- `project.rate_limited` a minute, whichever node saw it.
create table webhook_rate_limited (
    project_id text primary key,
    notified_at bigint not null
);
