-- A project that holds no secrets (the FAPI 2.0 idea, stated plainly in
-- the console): its clients sign in with a key (private_key_jwt) or a
-- workload identity, no secret can be made in it, and every token it
-- mints is DPoP-bound. 0 or 1, as a bigint (portable with sqlx's Any).
alter table projects add column keys_only bigint not null default 0;
