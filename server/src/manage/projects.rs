//! `/manage/v1/projects`: the project operations.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use portcullis_contract::Body;
use portcullis_core::limits::Limit;
use portcullis_core::projects;
use portcullis_gate::Bearer;
use serde_json::json;

use super::answers::{ClientAnswer, ProjectAnswer, UsageAnswer};
use super::bodies::{Dormancy, KeysOnly, NewProject, ProjectChange, Quota, RateLimit};
use super::{named, who, Answer, ManageState};

pub(super) async fn list_projects(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
) -> Answer {
    let list = s.projects.list_projects(&who(&b)).await?;
    let projects: Vec<ProjectAnswer> = list
        .iter()
        .map(|p| ProjectAnswer::new(&p.project, Some(p.live_clients)))
        .collect();
    Ok(Json(json!({ "projects": projects })).into_response())
}

pub(super) async fn read_project(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    let by = who(&b);
    let project = s.projects.project(&by, &id).await?;
    let clients = s.clients.list(&by, &id).await?;
    let mut answer = ProjectAnswer::new(&project, None);
    answer.clients = Some(clients.iter().map(ClientAnswer::from).collect());
    Ok(Json(answer).into_response())
}

pub(super) async fn create_project(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Body(input): Body<NewProject>,
) -> Answer {
    let project = s
        .projects
        .create_project(
            who(&b).manager()?,
            projects::NewProject {
                name: input.name,
                description: input.description,
                api_id: input.api_id,
                token_ttl_secs: input.token_ttl_secs,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ProjectAnswer::new(&project, Some(0))),
    )
        .into_response())
}

pub(super) async fn update_project(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    Body(input): Body<ProjectChange>,
) -> Answer {
    let project = s
        .projects
        .update_project(
            who(&b).manager()?,
            &id,
            projects::ProjectChange {
                name: input.name,
                description: input.description,
                token_ttl_secs: input.token_ttl_secs,
            },
        )
        .await?;
    Ok(Json(ProjectAnswer::new(&project, None)).into_response())
}

pub(super) async fn archive_project(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    let project = s.projects.archive_project(who(&b).manager()?, &id).await?;
    Ok(Json(ProjectAnswer::new(&project, None)).into_response())
}

pub(super) async fn keys_only(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    Body(input): Body<KeysOnly>,
) -> Answer {
    let project = s
        .projects
        .set_keys_only(who(&b).manager()?, &id, input.keys_only)
        .await?;
    Ok(Json(ProjectAnswer::new(&project, None)).into_response())
}

pub(super) async fn rate_limit(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    Body(input): Body<RateLimit>,
) -> Answer {
    let project = s
        .projects
        .set_rate_limit(
            who(&b).manager()?,
            &id,
            Limit {
                per_sec: input.per_sec,
                burst: input.burst,
            },
        )
        .await
        .map_err(|e| named(e, &[("rate_per_sec", "per_sec"), ("rate_burst", "burst")]))?;
    Ok(Json(ProjectAnswer::new(&project, None)).into_response())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UsageQuery {
    span: Option<String>,
}

/// `GET /projects/{id}/usage[?span=minute|hour]`: the project's use on
/// every node and gate, per minute for 48 hours or per hour for 30 days.
pub(super) async fn usage(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    portcullis_contract::Params(q): portcullis_contract::Params<UsageQuery>,
) -> Answer {
    use portcullis_core::usage_totals::Span;
    let span = match q.span.as_deref() {
        None | Some("minute") => Span::Minute,
        Some("hour") => Span::Hour,
        Some(_) => {
            return Err(portcullis_core::Error::invalid("span", "minute or hour").into());
        }
    };
    let usage = s.usage.project(&who(&b), &id, span).await?;
    Ok(Json(UsageAnswer::new(&id, &usage)).into_response())
}

/// `POST /projects/{id}/dormancy`: when the project's unused clients are
/// retired; answers the project.
pub(super) async fn dormancy(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    Body(input): Body<Dormancy>,
) -> Answer {
    let by = who(&b);
    s.lifecycle
        .set_project(by.manager()?, &id, input.dormant_after_days)
        .await?;
    let project = s.projects.project(&by, &id).await?;
    Ok(Json(ProjectAnswer::new(&project, None)).into_response())
}

/// `POST /projects/{id}/quota`: sets or removes the daily token quota;
/// answers the project.
pub(super) async fn quota(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    Body(input): Body<Quota>,
) -> Answer {
    let project = s
        .projects
        .set_quota(who(&b).manager()?, &id, input.daily_token_quota)
        .await?;
    Ok(Json(ProjectAnswer::new(&project, None)).into_response())
}
