-- Credentials that look after themselves: warnings before a client
-- expires or a scheduled retirement happens, and retiring clients nobody
-- has used for a while (off unless an owner turns it on). Portable SQL as
-- in 0001.

-- Days without use after which the account's clients are retired
-- (30, 60 or 90); null: never.
alter table accounts add column dormant_after_days bigint;

-- The same for one project: null follows the account, 0 is never.
alter table projects add column dormant_after_days bigint;

-- Each warning, sent once by whichever node got there first. `basis` is
-- what the warning is about: the end (expiry or retirement) for
-- 'expiring', the last use (or creation) counted from for 'dormant', so
-- a moved end or a new use makes a new warning due.
create table client_notices (
    client_id text not null,
    kind text not null,
    basis bigint not null,
    days bigint not null,
    sent_at bigint not null,
    primary key (client_id, kind, basis, days)
);

create index client_notices_kind on client_notices (kind, sent_at);
