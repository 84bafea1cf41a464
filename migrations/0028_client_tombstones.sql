-- Deleted clients, remembered while a token they were issued may still be
-- live: a gate holds only the clients it must refuse (issue 23), so a
-- deleted client's tokens are refused by its tombstone, not by its absence.
-- Portable SQL as in 0001.

create table client_tombstones (
    id text primary key,
    account_id text not null,
    project_id text not null,
    -- Epoch seconds after which no token of the client can be live.
    until_at bigint not null
);

create index client_tombstones_until on client_tombstones (until_at);

-- Clients deleted before this migration: their tombstones from the audit
-- log (pruned at once where no token of theirs can be live any more).
insert into client_tombstones (id, account_id, project_id, until_at)
select target_id, min(account_id), min(project_id), max(at) + 86700
from audit_events
where action = 'client.delete' and target_kind = 'client' and project_id is not null
group by target_id;
