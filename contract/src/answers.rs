//! The APIs' JSON error answers (each API maps its domain errors to them
//! in one place), and the body and query extractors whose refusals use
//! them.

use axum::extract::rejection::JsonRejection;
use axum::extract::FromRequestParts;
use axum::extract::{FromRequest, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

/// An error answer: its status and `{"error", "message", "field"?}` body.
#[derive(Debug)]
pub enum ApiError {
    BadJson(String),
    Invalid {
        field: String,
        message: String,
    },
    /// A field conflicts with what exists, or (no field) the state of the
    /// project's data refuses the request.
    Conflict {
        field: Option<String>,
        message: String,
    },
    NotFound,
    /// Nothing to serve it with for now (no free database connection
    /// within the wait): 503, to be retried.
    Busy,
    Internal,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::BadJson(message) => (
                StatusCode::BAD_REQUEST,
                json!({ "error": "bad_request", "message": message }),
            ),
            ApiError::Invalid { field, message } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "error": "invalid_field", "field": field, "message": message }),
            ),
            ApiError::Conflict { field, message } => {
                let mut body = json!({ "error": "conflict", "message": message });
                if let Some(f) = field {
                    body["field"] = json!(f);
                }
                (StatusCode::CONFLICT, body)
            }
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                json!({ "error": "not_found", "message": "no such item in this project" }),
            ),
            ApiError::Busy => {
                let body = json!({
                    "error": "temporarily_unavailable",
                    "message": "too busy to answer now; try again shortly",
                });
                let headers = [(axum::http::header::RETRY_AFTER, "1")];
                return (StatusCode::SERVICE_UNAVAILABLE, headers, axum::Json(body))
                    .into_response();
            }
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": "server_error", "message": "something went wrong on our side" }),
            ),
        };
        (status, axum::Json(body)).into_response()
    }
}

/// `axum::Json`, but a malformed body is a 400 (or a 422 for well-formed
/// JSON of the wrong shape) in our error format.
pub struct Body<T>(pub T);

impl<T, S> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::Invalid {
                field: String::new(),
                message: e.body_text(),
            }),
            Err(e) => Err(ApiError::BadJson(e.body_text())),
        }
    }
}

/// `axum::extract::Query`, but a query string of the wrong shape is a 422
/// in our error format (axum answers 400 in plain text).
pub struct Params<T>(pub T);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Params(q.0))
            .map_err(|e| ApiError::Invalid {
                field: String::new(),
                message: e.body_text(),
            })
    }
}
