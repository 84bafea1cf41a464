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
use serde_json::json;

use super::LIST_LIMIT;
use crate::ApiState;
use portcullis_contract::operations::{
    answer_schema, doc, exact, list_of, request_schema, ApiRoutes, Verb::*,
};
use portcullis_contract::{ApiError, Body, Params};

// One operation per line: verb, path, the scope it needs, its description, handler.
#[rustfmt::skip]
pub fn routes() -> ApiRoutes<ApiState> {
    ApiRoutes::new()
        .op(Post, "/applications", "applications:write", doc("Submit a loan application", 201).body(request_schema::<NewApplication>()).returns(answer_schema::<Application>()), create)
        .op(Get, "/applications", "applications:read", doc("List this integration's applications, newest first", 200).query("limit", "at most this many (default 50)", false, LIST_LIMIT.schema()).returns(exact(&[("applications", list_of(answer_schema::<Application>()))])), list)
        .op(Get, "/applications/{id}", "applications:read", doc("Read one application", 200).returns(answer_schema::<Application>()), read)
        .op(Get, "/applications/{id}/decision", "decisions:read", doc("Read the credit decision on an application", 200).returns(answer_schema::<DecisionView>()), decision)
        .op(Post, "/applications/{id}/payment-links", "payments:provision", doc("Create a payment link that pays out an approved application", 201).returns(answer_schema::<PaymentLink>()).conflict("the application was not approved"), payment_link)
        .op(Post, "/identity-checks", "identity:check", doc("Run an identity check on an applicant", 201).body(request_schema::<NewIdentityCheck>()).returns(answer_schema::<IdentityCheck>()), identity_check)
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
