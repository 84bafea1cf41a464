//! The Partner API (`/partner/v1`): loan applications, decisions, payment
//! links and identity checks.

use super::{
    Application, DecisionView, IdentityCheck, NewApplication, NewIdentityCheck, PaymentLink,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use portcullis_gate::Bearer;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{AMOUNT, DOCUMENT_PATTERN, INCOME, LIST_LIMIT, NAME_MAX, REFERENCE_MAX, TERM};
use crate::builder::{doc, exact, list_of, ApiRoutes, Verb::*};
use crate::contract::{date_schema, line_schema, text_schema};
use crate::error::{ApiError, Body, Params};
use crate::ApiState;

// One operation per line: verb, path, the scope it needs, its description, handler.
#[rustfmt::skip]
pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .op(Post, "/applications", "applications:write", doc("Submit a loan application", 201).body(application_input()).returns(application()), create)
        .op(Get, "/applications", "applications:read", doc("List this integration's applications, newest first", 200).query("limit", "at most this many (default 50)", false, LIST_LIMIT.schema()).returns(exact(&[("applications", list_of(application()))])), list)
        .op(Get, "/applications/{id}", "applications:read", doc("Read one application", 200).returns(application()), read)
        .op(Get, "/applications/{id}/decision", "decisions:read", doc("Read the credit decision on an application", 200).returns(decision_schema()), decision)
        .op(Post, "/applications/{id}/payment-links", "payments:provision", doc("Create a payment link that pays out an approved application", 201).returns(payment_link_schema()).conflict("the application was not approved"), payment_link)
        .op(Post, "/identity-checks", "identity:check", doc("Run an identity check on an applicant", 201).body(identity_input()).returns(identity_check_schema()), identity_check)
}

fn int() -> Value {
    json!({ "type": "integer" })
}

fn string() -> Value {
    json!({ "type": "string" })
}

fn reasons() -> Value {
    list_of(string())
}

fn application_input() -> Value {
    json!({
        "type": "object",
        "required": ["applicant_name", "amount_cents", "term_months", "annual_income_cents"],
        "additionalProperties": false,
        "properties": {
            "applicant_name": text_schema(NAME_MAX),
            "amount_cents": AMOUNT.schema(),
            "term_months": TERM.schema(),
            "annual_income_cents": INCOME.schema(),
            "external_reference": line_schema(REFERENCE_MAX)
        }
    })
}

fn application() -> Value {
    exact(&[
        ("id", string()),
        ("applicant_name", string()),
        ("amount_cents", int()),
        ("term_months", int()),
        ("annual_income_cents", int()),
        ("external_reference", json!({ "type": ["string", "null"] })),
        ("created_at", int()),
    ])
}

fn decision_schema() -> Value {
    exact(&[
        ("application_id", string()),
        (
            "outcome",
            json!({ "enum": ["approved", "declined", "referred"] }),
        ),
        ("reasons", reasons()),
        ("decided_at", int()),
    ])
}

fn payment_link_schema() -> Value {
    exact(&[
        ("id", string()),
        ("application_id", string()),
        ("amount_cents", int()),
        ("url", json!({ "type": "string", "format": "uri" })),
        ("created_at", int()),
        ("expires_at", int()),
    ])
}

fn identity_input() -> Value {
    json!({
        "type": "object",
        "required": ["full_name", "date_of_birth", "document_number"],
        "additionalProperties": false,
        "properties": {
            "full_name": text_schema(NAME_MAX),
            "date_of_birth": date_schema(),
            "document_number": { "type": "string", "pattern": DOCUMENT_PATTERN }
        }
    })
}

fn identity_check_schema() -> Value {
    exact(&[
        ("id", string()),
        ("full_name", string()),
        ("date_of_birth", string()),
        ("document_last4", string()),
        (
            "outcome",
            json!({ "enum": ["verified", "review", "failed"] }),
        ),
        ("reasons", reasons()),
        ("created_at", int()),
    ])
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
    Params(q): Params<ListQuery>,
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
