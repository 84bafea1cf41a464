-- Running nodes, each beating every few seconds: without Redis, the nodes
-- seen lately split each project's rate limit between them.
create table nodes (
    id text primary key,
    started_at bigint not null,
    seen_at bigint not null
);
