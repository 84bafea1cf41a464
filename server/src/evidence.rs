//! Evidence files as HTTP downloads, for the console (`/api/audit_export`,
//! `/api/usage_export`, behind the role table like every `/api/` path)
//! and the management API (`/manage/v1/audit/export`, `/usage/export`).
//! The body is streamed a chunk at a time from
//! [`portcullis_core::evidence::Export`]: a million rows never sit in
//! memory. A database failure half way ends the body early, without the
//! file's closing line, so the download is visibly incomplete.

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use http::{header, HeaderValue, StatusCode};
use portcullis_core::audit::Filter;
use portcullis_core::evidence::{self, Export, Format};
use serde::Deserialize;

use app::error::ConsoleError;
use app::ssr::{AppState, Resolved};

/// The file as a streamed attachment.
pub fn download(export: Export) -> Response {
    let name = export.file_name();
    let media = export.format().media_type();
    let chunks = futures_util::stream::unfold(Some(export), |state| async move {
        let mut export = state?;
        match export.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(Bytes::from(chunk)), Some(export))),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "an export stopped part way");
                Some((Err(std::io::Error::other("the export stopped")), None))
            }
        }
    });
    let mut res = Body::from_stream(chunks).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The audit export's parameters: the log's filters, and `format`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditExportQuery {
    pub format: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub project_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The usage export's parameters: a range of UTC dates, and `format`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageExportQuery {
    pub format: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

pub(crate) fn refuse(e: ConsoleError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, app::error::to_json(&e)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

fn unreadable(e: QueryRejection) -> ConsoleError {
    ConsoleError::Invalid {
        field: None,
        message: format!(
            "The download's parameters are not readable: {}",
            e.body_text()
        ),
    }
}

/// Blank form fields mean "any", as on the audit page.
fn typed(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `GET /api/audit_export`: the console's download of the log as filtered.
pub async fn console_audit(
    State(state): State<AppState>,
    Extension(who): Extension<Resolved>,
    q: Result<Query<AuditExportQuery>, QueryRejection>,
) -> Response {
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => return refuse(unreadable(e)),
    };
    let made = async {
        let p = who.principal.ok_or(ConsoleError::Unauthenticated)?;
        let filter = Filter::new(
            typed(&q.actor),
            typed(&q.action),
            typed(&q.project_id),
            typed(&q.from),
            typed(&q.to),
        )?;
        let format = Format::parse(typed(&q.format))?;
        let db = state.projects.db();
        Ok::<_, ConsoleError>(
            evidence::audit_log(db, &p, filter, format, state.projects.now()).await?,
        )
    };
    made.await.map_or_else(refuse, download)
}

/// `GET /api/usage_export`: the console's download of daily use.
pub async fn console_usage(
    State(state): State<AppState>,
    Extension(who): Extension<Resolved>,
    q: Result<Query<UsageExportQuery>, QueryRejection>,
) -> Response {
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => return refuse(unreadable(e)),
    };
    let made = async {
        let p = who.principal.ok_or(ConsoleError::Unauthenticated)?;
        let format = Format::parse(typed(&q.format))?;
        let db = state.projects.db();
        let now = state.projects.now();
        Ok::<_, ConsoleError>(
            evidence::daily_usage(db, &p, typed(&q.from), typed(&q.to), format, now).await?,
        )
    };
    made.await.map_or_else(refuse, download)
}
