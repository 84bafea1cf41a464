-- Credentials of resource-server gates: each reads the gate feed (and may
-- introspect tokens) of one API, and nothing else. Only a keyed hash of the
-- secret is kept, as for clients.
create table gate_credentials (
    id text primary key,
    api_id text not null,
    name text not null,
    secret_hash text not null,
    created_at bigint not null,
    created_by text not null,
    revoked_at bigint
);
create index gate_credentials_api on gate_credentials (api_id);
