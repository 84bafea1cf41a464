-- Clients that prove themselves with a key instead of a secret
-- (private_key_jwt, RFC 7523 §2.2), and values that may be used once in
-- the whole cluster (a client assertion's jti). Portable SQL as in 0001.

-- 'client_secret' (HTTP Basic or the body) or 'private_key_jwt'.
alter table clients add column auth_method text not null default 'client_secret';
-- private_key_jwt: a JWK Set of one or two public keys, as JSON. Such a
-- client's secret_hash is empty: it has no secret.
alter table clients add column public_keys text;
-- private_key_jwt with keys the partner hosts: their JWK Set's https URL
-- (public_keys is then null).
alter table clients add column jwks_uri text;

create table used_once (
    -- SHA-256 (hex) of the kind, the owner and the value.
    key text primary key,
    -- After this the value is refused anyway (its JWT has expired).
    expires_at bigint not null
);

create index used_once_expiry on used_once (expires_at);
