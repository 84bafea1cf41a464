-- Projects (one per integration), their OAuth clients, the keys that sign
-- access tokens, and revoked token ids. Portable SQL as in 0001.

create table projects (
    id text primary key,
    account_id text not null references accounts (id),
    name text not null,
    -- Lower-cased name: unique per account whatever the case.
    name_key text not null,
    description text not null,
    -- An api id from scopes.toml: the audience of every token.
    api_id text not null,
    token_ttl_secs bigint not null check (token_ttl_secs between 300 and 86400),
    created_at bigint not null,
    archived_at bigint
);

create unique index projects_account_name on projects (account_id, name_key);

create table clients (
    -- Public client id, pcl_...
    id text primary key,
    account_id text not null references accounts (id),
    project_id text not null references projects (id),
    name text not null,
    -- HMAC-SHA256 of the secret under the server pepper, hex; never the secret.
    secret_hash text not null,
    -- Space-separated, sorted. Only ever narrowed.
    scopes text not null,
    created_at bigint not null,
    created_by text references users (id),
    last_used_at bigint,
    disabled_at bigint,
    disabled_reason text,
    expires_at bigint
);

create index clients_project on clients (account_id, project_id);

create table signing_keys (
    kid text primary key,
    alg text not null check (alg in ('ES256', 'RS256')),
    -- The public JWK as JSON, as published at /.well-known/jwks.json.
    public_jwk text not null,
    -- PKCS#8 private key sealed with AES-256-GCM under the master key,
    -- base64 of nonce || ciphertext || tag.
    private_sealed text not null,
    created_at bigint not null,
    -- Set when a newer key takes over signing.
    retired_at bigint,
    -- After this the key is no longer published (its tokens have expired).
    unpublish_at bigint
);

create table revoked_tokens (
    jti text primary key,
    account_id text not null references accounts (id),
    client_id text not null references clients (id),
    -- The token's own exp: the row is useless after it.
    expires_at bigint not null,
    revoked_at bigint not null
);

create index revoked_tokens_expiry on revoked_tokens (expires_at);
