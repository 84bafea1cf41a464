-- Daily token quotas per project (UTC days), shared by every node: the
-- tokens granted to nodes each day (a node holds a small lease in
-- memory), and the day's warnings already sent. Portable SQL as in 0001.

-- Tokens a UTC day; null: no quota.
alter table projects add column daily_token_quota bigint;

create table token_quota_days (
    project_id text not null,
    -- Epoch seconds / 86400.
    day bigint not null,
    granted bigint not null,
    primary key (project_id, day)
);

create table token_quota_notices (
    project_id text not null,
    day bigint not null,
    -- 'warning' (80 %) or 'exhausted'.
    kind text not null,
    sent_at bigint not null,
    primary key (project_id, day, kind)
);
