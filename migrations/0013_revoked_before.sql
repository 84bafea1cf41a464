-- Past a number of revoked token ids, a client's further revocations set a
-- time instead: every token it was issued at or before then is refused.
-- Memory for revocations stays bounded per client.
alter table clients add column revoked_before bigint;
