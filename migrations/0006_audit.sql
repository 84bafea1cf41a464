-- The audit log: append-only, one row per event, per account. Nothing in
-- the product updates or deletes these rows.
create table audit_events (
    id text primary key,
    account_id text not null references accounts (id),
    at bigint not null,
    actor_kind text not null check (actor_kind in ('user', 'staff', 'system')),
    -- The user or staff id, empty for the system.
    actor_id text not null,
    -- What people read: an email, or "Portcullis".
    actor_label text not null,
    action text not null,
    target_kind text not null,
    target_id text not null,
    project_id text,
    client_ip text,
    detail text not null
);

-- Keyset paging, newest first, within each filter.
create index audit_events_account on audit_events (account_id, at, id);
create index audit_events_action on audit_events (account_id, action, at, id);
create index audit_events_project on audit_events (account_id, project_id, at, id);
create index audit_events_actor on audit_events (account_id, actor_label, at, id);
