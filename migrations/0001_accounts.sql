-- Tenants, the people who sign in, and which tenant each belongs to.
-- Portable SQL: text ids, integer epoch seconds, no SQLite-only syntax.

create table accounts (
    id text primary key,
    name text not null,
    created_at bigint not null
);

create table users (
    id text primary key,
    -- Stored trimmed and lower-cased.
    email text not null,
    -- argon2id PHC string; never the password.
    password_hash text not null,
    created_at bigint not null
);

create unique index users_email on users (email);

create table memberships (
    account_id text not null references accounts (id),
    user_id text not null references users (id),
    role text not null check (role in ('owner', 'developer', 'viewer')),
    created_at bigint not null,
    primary key (account_id, user_id)
);

create index memberships_user on memberships (user_id);
