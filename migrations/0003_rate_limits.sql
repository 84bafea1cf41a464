-- Each project's rate-limit bucket: sustained requests per second and burst.
alter table projects add column rate_per_sec bigint not null default 25;
alter table projects add column rate_burst bigint not null default 50;
