-- Used-once rows are keyed "<expiry, 12 digits>.<digest>" (core/src/used_once.rs),
-- so the primary key already orders them by expiry and the housekeeping prunes
-- by key range. The separate expiry index only cost every insert a third page.
drop index used_once_expiry;
-- Rows written before the keys carried their expiry can never match a new key.
delete from used_once where key not like '%.%';
