-- Support staff: platform users who belong to no account.
create table staff (
    user_id text primary key references users (id),
    created_at bigint not null
);
