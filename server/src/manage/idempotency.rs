//! `Idempotency-Key` on management writes: the first success is kept
//! and sent again for the same key and request.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_gate::Bearer;

use super::{refuse, ManageError, ManageState, BODY_MAX};

/// Writes with an `Idempotency-Key` header: the first success is kept and
/// sent again for the same key and request (see `portcullis_core::idempotency`).
/// Runs inside the route's scope check (so a token without the scope, or of
/// a client no longer live, never gets a kept answer), and the gate's.
pub(super) async fn idempotent(
    State(s): State<ManageState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use portcullis_core::idempotency::{self, Begin};
    let key = req.headers().get("idempotency-key").map(|v| {
        v.to_str()
            .map(str::to_owned)
            .unwrap_or_else(|_| "\u{0}".to_owned())
    });
    let client = req
        .extensions()
        .get::<Bearer>()
        .map(|b| b.client_id().to_owned());
    let (Some(key), Some(client), true) = (key, client, req.method() == axum::http::Method::POST)
    else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_MAX).await else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the body could not be read",
            None,
        );
    };
    let hash = idempotency::request_hash("POST", parts.uri.path(), &bytes);
    let db = s.projects.db();
    match idempotency::begin(
        db,
        s.accounts.clock(),
        &client,
        &key,
        &hash,
        s.request_timeout_secs,
    )
    .await
    {
        Err(e) => ManageError(e).into_response(),
        Ok(Begin::Mismatch) => refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "this Idempotency-Key was used with a different request",
            Some("Idempotency-Key"),
        ),
        Ok(Begin::InProgress) => refuse(
            StatusCode::CONFLICT,
            "conflict",
            "a request with this Idempotency-Key is still running; try again shortly",
            Some("Idempotency-Key"),
        ),
        Ok(Begin::Replay { status, body }) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            [
                (axum::http::header::CONTENT_TYPE, "application/json"),
                (
                    axum::http::HeaderName::from_static("idempotent-replayed"),
                    "true",
                ),
            ],
            body,
        )
            .into_response(),
        Ok(Begin::Fresh) => {
            let res = next
                .run(axum::extract::Request::from_parts(
                    parts,
                    axum::body::Body::from(bytes),
                ))
                .await;
            if !res.status().is_success() {
                // It changed nothing: a retry may run it again.
                if let Err(e) = idempotency::abandon(db, &client, &key).await {
                    tracing::error!(error = %e, "cannot release an idempotency key");
                }
                return res;
            }
            let (parts, body) = res.into_parts();
            let Ok(answer) = axum::body::to_bytes(body, BODY_MAX).await else {
                return refuse(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "something went wrong on our side",
                    None,
                );
            };
            let text = String::from_utf8_lossy(&answer);
            if let Err(e) =
                idempotency::finish(db, &client, &key, parts.status.as_u16(), &text).await
            {
                tracing::error!(error = %e, "cannot keep an idempotent answer");
            }
            Response::from_parts(parts, axum::body::Body::from(answer))
        }
    }
}
