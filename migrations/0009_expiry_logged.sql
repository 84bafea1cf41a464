-- When a temporary client's expiry was written to the audit log (once).
alter table clients add column expiry_logged_at bigint;
