-- Use summed over every node and every gate in another process: tokens
-- minted per client, and per project the calls gates let through, refused
-- and rate limited. Each node adds its counts every few seconds; a gate's
-- reports are added by whichever node takes them, each report once.
-- Portable SQL as in 0001.

-- Per minute, kept 48 hours. client_id '' holds the project's gate counts.
create table usage_minutes (
    account_id text not null,
    project_id text not null,
    client_id text not null,
    -- Epoch seconds / 60.
    minute bigint not null,
    minted bigint not null,
    gated bigint not null,
    refused bigint not null,
    limited bigint not null,
    primary key (project_id, client_id, minute)
);

create index usage_minutes_account on usage_minutes (account_id, project_id, minute);
create index usage_minutes_minute on usage_minutes (minute);

-- Per hour, kept 30 days; written with the minutes, not rolled up later.
create table usage_hours (
    account_id text not null,
    project_id text not null,
    client_id text not null,
    -- Epoch seconds / 3600.
    hour bigint not null,
    minted bigint not null,
    gated bigint not null,
    refused bigint not null,
    limited bigint not null,
    primary key (project_id, client_id, hour)
);

create index usage_hours_account on usage_hours (account_id, project_id, hour);
create index usage_hours_hour on usage_hours (hour);

-- Gate usage reports already counted (a gate sends one again until it
-- hears it was taken), kept two hours.
create table usage_reports (
    id text primary key,
    received_at bigint not null
);

create index usage_reports_received on usage_reports (received_at);
