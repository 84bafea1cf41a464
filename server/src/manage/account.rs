//! `/manage/v1/audit`, `/members` and the evidence files: the account's
//! records.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use portcullis_contract::Params;
use portcullis_core::audit::{self, Cursor, Filter};
use portcullis_core::evidence::{self, Format};
use portcullis_gate::Bearer;
use serde::Deserialize;

use super::answers::{AuditAnswer, AuditPage, MemberAnswer, MembersAnswer};
use super::{who, Answer, ManageState};
use crate::evidence::{download, AuditExportQuery, UsageExportQuery};

/// Each present parameter must be what the document says (an empty `from`
/// is an error here, where the console's form sends one for "any").
#[derive(Deserialize)]
pub(super) struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    project_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
}

pub(super) async fn audit_log(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Params(q): Params<AuditQuery>,
) -> Answer {
    let by = who(&b);
    let filter = Filter::new(
        q.actor.as_deref(),
        q.action.as_deref(),
        q.project_id.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
    )?;
    let cursor = q.before.as_deref().map(Cursor::decode).transpose()?;
    let page = audit::search(
        s.projects.db(),
        by.account_id(),
        &filter,
        cursor.as_ref(),
        50,
    )
    .await?;
    Ok(Json(AuditPage {
        entries: page.entries.iter().map(AuditAnswer::from).collect(),
        next: page.next.map(|c| c.encode()),
    })
    .into_response())
}

/// `GET /audit/export`: the log as filtered, streamed as CSV or JSON.
pub(super) async fn audit_export(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Params(q): Params<AuditExportQuery>,
) -> Answer {
    // Each present parameter as it is (an empty one is an error here).
    let filter = q.filter(Option::as_deref)?;
    let format = Format::parse(q.format.as_deref())?;
    let db = s.projects.db();
    let export = evidence::audit_log(db, &who(&b), filter, format, s.projects.now()).await?;
    Ok(download(export))
}

/// `GET /usage/export`: daily use per client, streamed as CSV or JSON.
pub(super) async fn usage_export(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Params(q): Params<UsageExportQuery>,
) -> Answer {
    let format = Format::parse(q.format.as_deref())?;
    let (db, now) = (s.projects.db(), s.projects.now());
    let export = evidence::daily_usage(
        db,
        &who(&b),
        q.from.as_deref(),
        q.to.as_deref(),
        format,
        now,
    )
    .await?;
    Ok(download(export))
}

pub(super) async fn members(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
) -> Answer {
    let members = s.accounts.members(&who(&b)).await?;
    Ok(Json(MembersAnswer {
        members: members.into_iter().map(MemberAnswer::from).collect(),
    })
    .into_response())
}
