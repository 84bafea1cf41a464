//! How the management API answers a refusal: one JSON shape, the
//! domain's errors mapped to statuses once.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use portcullis_core::Error;
use serde_json::json;

pub(super) fn refuse(
    status: StatusCode,
    error: &str,
    message: &str,
    field: Option<&str>,
) -> Response {
    let mut body = json!({ "error": error, "message": message });
    if let Some(f) = field {
        body["field"] = json!(f);
    }
    (status, Json(body)).into_response()
}

/// Core names a few fields as the console's forms do; the API names them
/// as its bodies do.
pub(super) fn named(e: Error, names: &[(&'static str, &'static str)]) -> ManageError {
    ManageError(match e {
        Error::Invalid { field, message } => Error::Invalid {
            field: names
                .iter()
                .find(|(f, _)| *f == field)
                .map_or(field, |(_, n)| n),
            message,
        },
        other => other,
    })
}

/// Domain errors to answers, in one place.
pub(crate) struct ManageError(pub(super) Error);

impl From<Error> for ManageError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl IntoResponse for ManageError {
    fn into_response(self) -> Response {
        match self.0 {
            Error::Invalid { field, message } => refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                &message,
                Some(field),
            ),
            Error::InvalidScope(message) => refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                &message,
                Some("scopes"),
            ),
            Error::Refused(message) => refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                &message,
                None,
            ),
            Error::Conflict { field, message } => {
                refuse(StatusCode::CONFLICT, "conflict", &message, Some(field))
            }
            Error::StateConflict(message) => {
                refuse(StatusCode::CONFLICT, "conflict", &message, None)
            }
            Error::NotFound => refuse(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such item in this account",
                None,
            ),
            Error::Forbidden | Error::SecondFactorRequired => refuse(
                StatusCode::FORBIDDEN,
                "forbidden",
                "a management client cannot do this",
                None,
            ),
            e => {
                tracing::error!(error = %e, "internal error in a management API call");
                refuse(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "something went wrong on our side",
                    None,
                )
            }
        }
    }
}

pub(crate) type Answer = Result<Response, ManageError>;
