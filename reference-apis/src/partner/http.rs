//! The Partner API (`/partner/v1`): loan applications, decisions, payment
//! links and identity checks.

use super::{
    Application, DecisionView, IdentityCheck, NewApplication, NewIdentityCheck, PaymentLink,
};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use portcullis_gate::Bearer;
use serde::Deserialize;
use serde_json::json;

use crate::builder::{doc, ApiRoutes, Verb::*};
use crate::error::{ApiError, Body};
use crate::ApiState;

// One operation per line: verb, path, the scope it needs, its description, handler.
#[rustfmt::skip]
pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .op(Post, "/applications", "applications:write", doc("Submit a loan application", 201).body(application_schema()), create)
        .op(Get, "/applications", "applications:read", doc("List this integration's applications, newest first", 200).query(LIMIT), list)
        .op(Get, "/applications/{id}", "applications:read", doc("Read one application", 200), read)
        .op(Get, "/applications/{id}/decision", "decisions:read", doc("Read the credit decision on an application", 200), decision)
        .op(Post, "/applications/{id}/payment-links", "payments:provision", doc("Create a payment link that pays out an approved application", 201), payment_link)
        .op(Post, "/identity-checks", "identity:check", doc("Run an identity check on an applicant", 201).body(identity_schema()), identity_check)
}

const LIMIT: &[(&str, &str)] = &[("limit", "at most this many (1-100, default 50)")];

fn application_schema() -> serde_json::Value {
    json!({
        "type": "object",
        "required": ["applicant_name", "amount_cents", "term_months", "annual_income_cents"],
        "additionalProperties": false,
        "properties": {
            "applicant_name": { "type": "string", "minLength": 1, "maxLength": 120 },
            "amount_cents": { "type": "integer", "minimum": 100, "maximum": 100000000 },
            "term_months": { "type": "integer", "minimum": 3, "maximum": 120 },
            "annual_income_cents": { "type": "integer", "minimum": 0 },
            "external_reference": { "type": "string", "maxLength": 64 }
        }
    })
}

fn identity_schema() -> serde_json::Value {
    json!({
        "type": "object",
        "required": ["full_name", "date_of_birth", "document_number"],
        "additionalProperties": false,
        "properties": {
            "full_name": { "type": "string", "minLength": 1, "maxLength": 120 },
            "date_of_birth": { "type": "string", "format": "date" },
            "document_number": { "type": "string", "pattern": "^[A-Za-z0-9]{4,32}$" }
        }
    })
}

async fn create(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Body(input): Body<NewApplication>,
) -> Result<(StatusCode, Json<Application>), ApiError> {
    let app = s
        .partner
        .create_application(b.project_id(), b.client_id(), input)
        .await?;
    Ok((StatusCode::CREATED, Json(app)))
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<i64>,
}

async fn list(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Query(q): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let apps = s
        .partner
        .list_applications(b.project_id(), q.limit.unwrap_or(50))
        .await?;
    Ok(Json(json!({ "applications": apps })))
}

async fn read(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Result<Json<Application>, ApiError> {
    Ok(Json(s.partner.application(b.project_id(), &id).await?))
}

async fn decision(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Result<Json<DecisionView>, ApiError> {
    Ok(Json(s.partner.decision(b.project_id(), &id).await?))
}

async fn payment_link(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<PaymentLink>), ApiError> {
    let link = s
        .partner
        .provision_payment_link(b.project_id(), &id)
        .await?;
    Ok((StatusCode::CREATED, Json(link)))
}

async fn identity_check(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Body(input): Body<NewIdentityCheck>,
) -> Result<(StatusCode, Json<IdentityCheck>), ApiError> {
    let check = s.partner.identity_check(b.project_id(), input).await?;
    Ok((StatusCode::CREATED, Json(check)))
}
