-- Data of the two reference APIs, written and read with access tokens.
-- Every row belongs to the project whose token wrote it (the token's
-- `project` claim: the APIs know projects only through tokens, so no
-- foreign key to the issuer's tables).
--
-- The issuer's migration 0004 made these same tables (with such a key)
-- before the APIs carried their own migrations; on a database it migrated,
-- this one finds them in place and changes nothing.

create table if not exists partner_applications (
    id text primary key,
    project_id text not null,
    applicant_name text not null,
    amount_cents bigint not null,
    term_months bigint not null,
    annual_income_cents bigint not null,
    external_reference text,
    -- The decision, made by a fixed rule when the application arrives.
    outcome text not null check (outcome in ('approved', 'declined', 'referred')),
    reasons text not null,
    created_by_client text not null,
    created_at bigint not null
);

create index if not exists partner_applications_project on partner_applications (project_id, created_at);

create table if not exists partner_payment_links (
    id text primary key,
    project_id text not null,
    application_id text not null references partner_applications (id),
    amount_cents bigint not null,
    url text not null,
    created_at bigint not null,
    expires_at bigint not null
);

create index if not exists partner_payment_links_application on partner_payment_links (project_id, application_id);

create table if not exists partner_identity_checks (
    id text primary key,
    project_id text not null,
    full_name text not null,
    date_of_birth text not null,
    -- Only the last four characters of the document number are kept.
    document_last4 text not null,
    outcome text not null check (outcome in ('verified', 'failed', 'review')),
    reasons text not null,
    created_at bigint not null
);

create table if not exists caas_categories (
    id text primary key,
    project_id text not null,
    name text not null,
    name_key text not null,
    created_at bigint not null
);

create unique index if not exists caas_categories_name on caas_categories (project_id, name_key);

create table if not exists caas_transactions (
    id text primary key,
    project_id text not null,
    user_id text not null,
    account_id text not null,
    amount_cents bigint not null,
    currency text not null,
    description text not null,
    booked_on text not null,
    merchant text not null,
    category_id text not null,
    created_at bigint not null
);

create index if not exists caas_transactions_user on caas_transactions (project_id, user_id, booked_on);

create table if not exists caas_splits (
    id text primary key,
    project_id text not null,
    transaction_id text not null references caas_transactions (id),
    amount_cents bigint not null,
    category_id text not null,
    note text not null,
    created_at bigint not null
);

create index if not exists caas_splits_transaction on caas_splits (project_id, transaction_id);
