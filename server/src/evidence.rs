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
use http::{header, HeaderValue};
use portcullis_core::audit::Filter;
use portcullis_core::evidence::{self, Export, Format};
use serde::Deserialize;

use app::error::ConsoleError;
use app::ssr::{AppState, Resolved};
use portcullis_core::model::Principal;

use crate::middleware::access::refuse;

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

impl AuditExportQuery {
    /// The log's filter, each parameter read by `read` (as given, or a
    /// blank as "any").
    pub fn filter(
        &self,
        read: impl Fn(&Option<String>) -> Option<&str>,
    ) -> portcullis_core::Result<Filter> {
        Filter::new(
            read(&self.actor),
            read(&self.action),
            read(&self.project_id),
            read(&self.from),
            read(&self.to),
        )
    }
}

/// The usage export's parameters: a range of UTC dates, and `format`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageExportQuery {
    pub format: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
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

/// A console download: its parameters read, its caller a member (the
/// role table let them through), then the file `make` opens, streamed.
async fn console_download<Q, F, Fut>(
    who: Resolved,
    q: Result<Query<Q>, QueryRejection>,
    make: F,
) -> Response
where
    F: FnOnce(Principal, Q) -> Fut,
    Fut: std::future::Future<Output = Result<Export, ConsoleError>>,
{
    let made = async {
        let Query(q) = q.map_err(unreadable)?;
        let p = who.principal.ok_or(ConsoleError::Unauthenticated)?;
        make(p, q).await
    };
    made.await.map_or_else(refuse, download)
}

/// `GET /api/audit_export`: the console's download of the log as filtered.
pub async fn console_audit(
    State(state): State<AppState>,
    Extension(who): Extension<Resolved>,
    q: Result<Query<AuditExportQuery>, QueryRejection>,
) -> Response {
    console_download(who, q, |p, q| async move {
        let filter = q.filter(typed)?;
        let format = Format::parse(typed(&q.format))?;
        let (db, now) = (state.projects.db(), state.projects.now());
        Ok(evidence::audit_log(db, &p, filter, format, now).await?)
    })
    .await
}

/// `GET /api/usage_export`: the console's download of daily use.
pub async fn console_usage(
    State(state): State<AppState>,
    Extension(who): Extension<Resolved>,
    q: Result<Query<UsageExportQuery>, QueryRejection>,
) -> Response {
    console_download(who, q, |p, q| async move {
        let format = Format::parse(typed(&q.format))?;
        let (db, now) = (state.projects.db(), state.projects.now());
        Ok(evidence::daily_usage(db, &p, typed(&q.from), typed(&q.to), format, now).await?)
    })
    .await
}
