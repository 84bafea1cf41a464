//! Paths that cannot name anything, refused before a handler sees them.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// 404 in the APIs' error format, for a path no route takes.
pub async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        axum::Json(
            json!({ "error": "not_found", "message": "no such endpoint; see /openapi.json" }),
        ),
    )
}

/// A path that does not decode to text without NUL names nothing that can
/// exist (PostgreSQL text cannot even hold a NUL): 404 in our format,
/// before any handler or query sees it. A middleware (`from_fn`).
pub async fn only_possible_ids(req: Request, next: Next) -> Response {
    let decodes = percent_decode(req.uri().path()).is_some_and(|p| !p.contains('\0'));
    if decodes {
        next.run(req).await
    } else {
        not_found().await.into_response()
    }
}

/// The path as axum's `Path` decodes it; `None` when it is not UTF-8.
fn percent_decode(path: &str) -> Option<String> {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()
        .map(|p| p.into_owned())
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn paths_decode_or_name_nothing() {
        assert_eq!(percent_decode("/a%20b/%C3%A9").as_deref(), Some("/a b/é"));
        assert_eq!(percent_decode("/x%00y").as_deref(), Some("/x\0y"));
        assert_eq!(percent_decode("/%F2%90"), None, "cut UTF-8");
        assert_eq!(percent_decode("/%FF").as_deref(), None, "not UTF-8");
    }
}
