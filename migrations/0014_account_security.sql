-- Passwords that can be changed and reset, and a second factor.

-- Bumped by a password change or reset: sessions started under an older
-- value end at their next request.
alter table users add column session_epoch bigint not null default 0;

-- Set when an owner requires a second factor of every member.
alter table accounts add column second_factor_required_at bigint;

-- A user's TOTP (RFC 6238) secret, sealed with the master key. Unconfirmed
-- (confirmed_at null) until the user has typed one right code.
create table totp_factors (
    user_id text primary key references users (id),
    secret_sealed text not null,
    created_at bigint not null,
    confirmed_at bigint,
    -- The last time step accepted: a code works once.
    last_step bigint not null default 0
);

-- One-time recovery codes; only a keyed hash of each is kept.
create table recovery_codes (
    user_id text not null references users (id),
    code_hash text not null,
    used_at bigint,
    primary key (user_id, code_hash)
);

-- One-time password-reset links an owner issues for a member. Only a hash
-- of the token is kept.
create table password_resets (
    id text primary key,
    account_id text not null references accounts (id),
    user_id text not null references users (id),
    token_hash text not null,
    created_by text not null references users (id),
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint
);

create unique index password_resets_token on password_resets (token_hash);
create index password_resets_user on password_resets (user_id);
