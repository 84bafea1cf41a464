//! The Partner API's items as the domain, storage and the wire share them
//! (`store` imports these, never the domain module).

use portcullis_gate::clock::Epoch;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, JsonSchema, sqlx::FromRow)]
pub struct Application {
    pub id: String,
    pub applicant_name: String,
    pub amount_cents: i64,
    pub term_months: i64,
    pub annual_income_cents: i64,
    pub external_reference: Option<String>,
    pub created_at: Epoch,
}

#[derive(Debug, Clone, Serialize, JsonSchema, sqlx::FromRow)]
pub struct PaymentLink {
    pub id: String,
    pub application_id: String,
    pub amount_cents: i64,
    #[schemars(extend("format" = "uri"))]
    pub url: String,
    pub created_at: Epoch,
    pub expires_at: Epoch,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IdentityCheck {
    pub id: String,
    pub full_name: String,
    pub date_of_birth: String,
    pub document_last4: String,
    #[schemars(extend("enum" = ["verified", "review", "failed"]))]
    pub outcome: String,
    pub reasons: Vec<String>,
    pub created_at: Epoch,
}
