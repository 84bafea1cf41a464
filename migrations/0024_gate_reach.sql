-- How far each gate in another process has reached in the change feed, as
-- it reported to any node (so every node's staff page shows every gate),
-- and when each gate applied each client cut-off (a revocation, a
-- retirement, a narrowing). Portable SQL as in 0001.

create table gate_connections (
    gate_id text not null,
    -- Random per gate process: replicas sharing a credential stay apart.
    instance text not null,
    api_id text not null,
    peer text not null,
    version text not null,
    position bigint not null,
    -- The reporting node's position minus the gate's, at the report.
    changes_behind bigint not null,
    -- Since when it has trailed (null: caught up at its last report).
    behind_since bigint,
    first_seen bigint not null,
    last_seen bigint not null,
    primary key (gate_id, instance)
);

create index gate_connections_api on gate_connections (api_id, last_seen);
create index gate_connections_last_seen on gate_connections (last_seen);

-- A change that cuts a client off, written in the change's transaction
-- with its feed position.
create table cut_offs (
    seq bigint primary key,
    api_id text not null,
    account_id text not null,
    client_id text not null,
    action text not null,
    -- Milliseconds since the epoch: the promise is counted in them.
    at_ms bigint not null
);

create index cut_offs_client on cut_offs (account_id, client_id, seq);
create index cut_offs_api on cut_offs (api_id, seq);
create index cut_offs_at on cut_offs (account_id, at_ms);

create table cut_off_applied (
    seq bigint not null,
    gate_id text not null,
    instance text not null,
    applied_at_ms bigint not null,
    primary key (seq, gate_id, instance)
);
