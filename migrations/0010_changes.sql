-- The ordered change feed: one row per committed change that the hot paths
-- read from memory, written in the change's own transaction. Every node
-- applies these in `seq` order. `seq` is assigned as max + 1 while the
-- table is locked for appends (see core/src/store/changes.rs), so it is
-- gapless and follows commit order on both backends.
create table changes (
    seq bigint primary key,
    -- client, project, revoked_token, signing_key, member
    kind text not null,
    target_id text not null,
    at bigint not null
);

create index changes_at on changes (at);
