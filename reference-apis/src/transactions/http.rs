//! The Transactions API (`/caas/v1`): transactions, splits, categories,
//! enhanced and regular reads, and erasing a user's data.

use super::{
    Category, EnhancedTransaction, Erased, NewSplit, NewTransaction, RegularSeries, Split,
    Transaction,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use portcullis_gate::Bearer;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{CATEGORY_NAME_MAX, LIST_LIMIT};
use crate::ApiState;
use portcullis_contract::fields::ident_schema;
use portcullis_contract::operations::{
    answer_schema, doc, exact, list_of, request_schema, ApiRoutes, Verb::*,
};
use portcullis_contract::{ApiError, Body, Params};

// One operation per line: verb, path, the scope it needs, its description, handler.
#[rustfmt::skip]
pub fn routes() -> ApiRoutes<ApiState> {
    let user = || ident_schema();
    ApiRoutes::new()
        .op(Post, "/transactions", "caas:transactions:write", doc("Add a transaction; the answer carries it, enriched, even without read access", 201).body(request_schema::<NewTransaction>()).returns(answer_schema::<Transaction>()), create_transaction)
        .op(Get, "/transactions", "caas:transactions:read", doc("List transactions, newest first", 200).query("user_id", "only this user's", false, user()).query("limit", "at most this many (default 100)", false, LIST_LIMIT.schema()).returns(exact(&[("transactions", list_of(answer_schema::<Transaction>()))])), list_transactions)
        .op(Get, "/transactions/{id}", "caas:transactions:read", doc("Read one transaction with its merchant and category", 200).returns(answer_schema::<Transaction>()), read_transaction)
        .op(Delete, "/transactions/{id}", "caas:transactions:delete", doc("Delete a transaction and its splits", 204), delete_transaction)
        .op(Post, "/transactions/{id}/splits", "caas:transaction_splits:write", doc("Split part of a transaction out; the answer carries the split", 201).body(request_schema::<NewSplit>()).returns(answer_schema::<Split>()).conflict("category_id is not a category of this project, or the splits would total more than the transaction"), create_split)
        .op(Get, "/transactions/{id}/splits", "caas:transaction_splits:read", doc("List a transaction's splits", 200).returns(exact(&[("splits", list_of(answer_schema::<Split>()))])), list_splits)
        .op(Delete, "/transactions/{id}/splits/{split_id}", "caas:transaction_splits:delete", doc("Delete a split", 204), delete_split)
        .op(Get, "/transactions/{id}/enhanced", "caas:enhanced_transactions:read", doc("Read a transaction with the extended enrichment set", 200).returns(answer_schema::<EnhancedTransaction>()), enhanced)
        .op(Get, "/regular-transactions", "caas:regular_transactions:read", doc("A user's recurring series (same merchant and amount, twice or more)", 200).query("user_id", "the user", true, user()).returns(exact(&[("series", list_of(answer_schema::<RegularSeries>()))])), regular)
        .op(Get, "/categories", "caas:categories:read", doc("List built-in and custom categories", 200).returns(exact(&[("categories", list_of(answer_schema::<Category>()))])), categories)
        .op(Post, "/categories", "caas:categories:write", doc("Create a custom category", 201).body(request_schema::<NewCategory>()).returns(answer_schema::<Category>()).conflict("a category of that name exists, built-in or custom"), create_category)
        .op(Delete, "/categories/{id}", "caas:categories:delete", doc("Delete a custom category (its transactions become Other)", 204).conflict("built-in categories cannot be deleted"), delete_category)
        .op(Delete, "/users/{user_id}", "caas:users:delete", doc("Erase every transaction and split of a user", 200).path("user_id", "the user", user()).returns(answer_schema::<Erased>()), erase_user)
}

async fn create_transaction(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Body(input): Body<NewTransaction>,
) -> Result<(StatusCode, Json<Transaction>), ApiError> {
    let t = s
        .transactions
        .create_transaction(b.project_id(), input)
        .await?;
    Ok((StatusCode::CREATED, Json(t)))
}

#[derive(Deserialize)]
struct ListQuery {
    user_id: Option<String>,
    limit: Option<i64>,
}

async fn list_transactions(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let list = s
        .transactions
        .list_transactions(b.project_id(), q.user_id.as_deref(), q.limit.unwrap_or(100))
        .await?;
    Ok(Json(json!({ "transactions": list })))
}

async fn read_transaction(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Result<Json<Transaction>, ApiError> {
    Ok(Json(s.transactions.transaction(b.project_id(), &id).await?))
}

async fn delete_transaction(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.transactions
        .delete_transaction(b.project_id(), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_split(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    Body(input): Body<NewSplit>,
) -> Result<(StatusCode, Json<Split>), ApiError> {
    let split = s
        .transactions
        .create_split(b.project_id(), &id, input)
        .await?;
    Ok((StatusCode::CREATED, Json(split)))
}

async fn list_splits(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({ "splits": s.transactions.splits(b.project_id(), &id).await? }),
    ))
}

async fn delete_split(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Path((id, split_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.transactions
        .delete_split(b.project_id(), &id, &split_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn enhanced(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Result<Json<EnhancedTransaction>, ApiError> {
    Ok(Json(s.transactions.enhanced(b.project_id(), &id).await?))
}

#[derive(Deserialize)]
struct UserQuery {
    user_id: Option<String>,
}

async fn regular(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Params(q): Params<UserQuery>,
) -> Result<Json<Value>, ApiError> {
    let user = q.user_id.ok_or(ApiError::Invalid {
        field: "user_id".into(),
        message: "the user_id query parameter is required".into(),
    })?;
    Ok(Json(
        json!({ "series": s.transactions.regular(b.project_id(), &user).await? }),
    ))
}

async fn categories(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({ "categories": s.transactions.categories(b.project_id()).await? }),
    ))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NewCategory {
    #[schemars(schema_with = "portcullis_contract::fields::text::<CATEGORY_NAME_MAX>")]
    name: String,
}

async fn create_category(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Body(input): Body<NewCategory>,
) -> Result<(StatusCode, Json<Category>), ApiError> {
    let c = s
        .transactions
        .create_category(b.project_id(), &input.name)
        .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

async fn delete_category(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.transactions.delete_category(b.project_id(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn erase_user(
    State(s): State<ApiState>,
    Extension(b): Extension<Bearer>,
    Path(user_id): Path<String>,
) -> Result<Json<Erased>, ApiError> {
    Ok(Json(
        s.transactions.erase_user(b.project_id(), &user_id).await?,
    ))
}
