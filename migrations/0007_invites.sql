-- One-time invitations to join an account. Only a hash of the token is kept.
create table invites (
    id text primary key,
    account_id text not null references accounts (id),
    role text not null check (role in ('owner', 'developer', 'viewer')),
    -- SHA-256 of the token, hex.
    token_hash text not null,
    created_by text not null references users (id),
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint,
    used_by text references users (id),
    revoked_at bigint
);

create unique index invites_token on invites (token_hash);
create index invites_account on invites (account_id, created_at);
