-- Management clients act through the management API: the audit log's
-- actor kinds gain 'client'. Rebuilt, since a CHECK constraint cannot be
-- changed in place portably.
create table audit_events_next (
    id text primary key,
    account_id text not null references accounts (id),
    at bigint not null,
    actor_kind text not null check (actor_kind in ('user', 'staff', 'client', 'system')),
    -- The user, staff member or client id, empty for the system.
    actor_id text not null,
    -- What people read: an email, "management client <id>", or "Portcullis".
    actor_label text not null,
    action text not null,
    target_kind text not null,
    target_id text not null,
    project_id text,
    client_ip text,
    detail text not null
);

insert into audit_events_next
    (id, account_id, at, actor_kind, actor_id, actor_label, action, target_kind, target_id,
     project_id, client_ip, detail)
select id, account_id, at, actor_kind, actor_id, actor_label, action, target_kind, target_id,
       project_id, client_ip, detail
from audit_events;

drop table audit_events;
alter table audit_events_next rename to audit_events;

create index audit_events_account on audit_events (account_id, at, id);
create index audit_events_action on audit_events (account_id, action, at, id);
create index audit_events_project on audit_events (account_id, project_id, at, id);
create index audit_events_actor on audit_events (account_id, actor_label, at, id);
