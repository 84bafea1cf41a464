-- Rotation: a client may be scheduled to retire at a chosen time.
alter table clients add column retire_at bigint;
