//! The Transactions API's items as the domain, storage and the wire share
//! them (`store` imports these, never the domain module).

use portcullis_gate::clock::Epoch;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, JsonSchema, sqlx::FromRow)]
pub struct Transaction {
    pub id: String,
    pub user_id: String,
    pub account_id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub description: String,
    pub booked_on: String,
    pub merchant: String,
    pub category_id: String,
    pub created_at: Epoch,
}

#[derive(Debug, Clone, Serialize, JsonSchema, sqlx::FromRow)]
pub struct Split {
    pub id: String,
    pub transaction_id: String,
    pub amount_cents: i64,
    pub category_id: String,
    pub note: String,
    pub created_at: Epoch,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Category {
    pub id: String,
    pub name: String,
    pub custom: bool,
}
