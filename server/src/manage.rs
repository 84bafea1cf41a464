//! The management API (`/manage/v1`): an account's automation, on our own
//! tokens. Each route names its `manage:*` scope and sits behind the same
//! gate as every API; each handler is a thin shell over the same domain
//! functions the console's server functions call, acting as the management
//! client (a developer of the token's own account).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use portcullis_core::audit::{self, Cursor, Filter};
use portcullis_core::projects::ProjectInput;
use portcullis_core::{manage, Accounts, Clients, Error, Principal, Projects};
use portcullis_gate::{scope, Bearer, Gate};
use portcullis_reference_apis::{Body, Params};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Clone)]
pub struct ManageState {
    pub projects: Arc<Projects>,
    pub clients: Arc<Clients>,
    pub accounts: Arc<Accounts>,
    pub webhooks: Arc<portcullis_core::webhooks::Webhooks>,
}

/// The routes, behind `gate`, to be nested at `/manage/v1`.
// One operation per line: path, verb with its handler and the scope it needs.
#[rustfmt::skip]
pub fn router(gate: &Gate, state: ManageState) -> Router {
    use axum::handler::Handler;
    use axum::routing::delete;
    Router::new()
        .route("/projects", get(list_projects.layer(scope("manage:projects:read"))).post(create_project.layer(scope("manage:projects:write"))))
        .route("/projects/{id}", get(read_project.layer(scope("manage:projects:read"))).post(update_project.layer(scope("manage:projects:write"))))
        .route("/projects/{id}/archive", post(archive_project.layer(scope("manage:projects:write"))))
        .route("/projects/{id}/rate-limit", post(rate_limit.layer(scope("manage:projects:write"))))
        .route("/projects/{id}/clients", post(create_client.layer(scope("manage:clients:write"))))
        .route("/clients/{id}", delete(delete_client.layer(scope("manage:clients:delete"))))
        .route("/clients/{id}/narrow", post(narrow_client.layer(scope("manage:clients:write"))))
        .route("/clients/{id}/rotate", post(rotate_client.layer(scope("manage:clients:write"))))
        .route("/clients/{id}/retire", post(retire_client.layer(scope("manage:clients:write"))))
        .route("/clients/{id}/keep", post(keep_client.layer(scope("manage:clients:write"))))
        .route("/audit", get(audit_log.layer(scope("manage:audit:read"))))
        .route("/members", get(members.layer(scope("manage:members:read"))))
        .route("/webhooks", get(webhooks::list.layer(scope("manage:webhooks:read"))).post(webhooks::create.layer(scope("manage:webhooks:write"))))
        .route("/webhooks/{id}", get(webhooks::read.layer(scope("manage:webhooks:read"))).post(webhooks::update.layer(scope("manage:webhooks:write"))).delete(webhooks::delete.layer(scope("manage:webhooks:write"))))
        .route("/webhooks/{id}/enable", post(webhooks::enable.layer(scope("manage:webhooks:write"))))
        .route("/webhooks/{id}/disable", post(webhooks::disable.layer(scope("manage:webhooks:write"))))
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries.layer(scope("manage:webhooks:read"))))
        .route("/webhooks/{id}/deliveries/{message_id}/resend", post(webhooks::resend.layer(scope("manage:webhooks:write"))))
        .fallback(|| async { refuse(StatusCode::NOT_FOUND, "not_found", "no such endpoint; see /openapi.json", None) })
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotent))
        .layer(axum::middleware::from_fn(portcullis_reference_apis::only_possible_ids))
        .layer(gate.layer())
        .with_state(state)
}

/// Writes with an `Idempotency-Key` header: the first success is kept and
/// sent again for the same key and request (see `portcullis_core::idempotency`).
/// Runs inside the gate, so the caller is known.
async fn idempotent(
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
    match idempotency::begin(db, s.accounts.clock(), &client, &key, &hash).await {
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

pub(crate) mod answers;
pub(crate) mod bodies;
mod webhooks;

use answers::{ClientAnswer, ClientWithSecret, ProjectAnswer};
use bodies::{Narrow, NewClient, NewProject, ProjectChange, RateLimit, Retire};

/// Management requests and answers are small.
const BODY_MAX: usize = 256 * 1024;

/// The principal the token acts as; its account is the token's own.
pub(super) fn who(b: &Bearer) -> Principal {
    manage::principal(b.client_id(), &b.claims.account_id, "", None)
}

fn refuse(status: StatusCode, error: &str, message: &str, field: Option<&str>) -> Response {
    let mut body = json!({ "error": error, "message": message });
    if let Some(f) = field {
        body["field"] = json!(f);
    }
    (status, Json(body)).into_response()
}

/// Core names a few fields as the console's forms do; the API names them
/// as its bodies do.
fn named(e: Error, names: &[(&'static str, &'static str)]) -> ManageError {
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
pub(super) struct ManageError(Error);

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

pub(super) type Answer = Result<Response, ManageError>;

async fn list_projects(State(s): State<ManageState>, Extension(b): Extension<Bearer>) -> Answer {
    let list = s.projects.list_projects(&who(&b)).await?;
    let projects: Vec<ProjectAnswer> = list
        .iter()
        .map(|p| ProjectAnswer::new(&p.project, Some(p.live_clients)))
        .collect();
    Ok(Json(json!({ "projects": projects })).into_response())
}

async fn read_project(
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

async fn create_project(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Body(input): Body<NewProject>,
) -> Answer {
    let project = s
        .projects
        .create_project(
            &who(&b),
            ProjectInput {
                name: input.name,
                description: input.description,
                api_id: input.api_id,
                token_ttl_secs: input
                    .token_ttl_secs
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ProjectAnswer::new(&project, Some(0))),
    )
        .into_response())
}

async fn update_project(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    Body(input): Body<ProjectChange>,
) -> Answer {
    let by = who(&b);
    let now = s.projects.project(&by, &id).await?;
    let project = s
        .projects
        .update_project(
            &by,
            &id,
            ProjectInput {
                name: input.name.unwrap_or(now.name),
                description: input.description.unwrap_or(now.description),
                api_id: now.api_id,
                token_ttl_secs: input
                    .token_ttl_secs
                    .unwrap_or(now.token_ttl_secs)
                    .to_string(),
            },
        )
        .await?;
    Ok(Json(ProjectAnswer::new(&project, None)).into_response())
}

async fn archive_project(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    let project = s.projects.archive_project(&who(&b), &id).await?;
    Ok(Json(ProjectAnswer::new(&project, None)).into_response())
}

async fn rate_limit(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    Body(input): Body<RateLimit>,
) -> Answer {
    let project = s
        .projects
        .set_rate_limit(
            &who(&b),
            &id,
            &input.per_sec.to_string(),
            &input.burst.to_string(),
        )
        .await
        .map_err(|e| named(e, &[("rate_per_sec", "per_sec"), ("rate_burst", "burst")]))?;
    Ok(Json(ProjectAnswer::new(&project, None)).into_response())
}

async fn narrow_client(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    Body(input): Body<Narrow>,
) -> Answer {
    let client = s.clients.narrow(&who(&b), &id, &input.scopes).await?;
    Ok(Json(ClientAnswer::from(&client)).into_response())
}

async fn keep_client(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    s.clients.keep(&who(&b), &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_client(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    s.clients.delete(&who(&b), &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn create_client(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(project_id): Path<String>,
    Body(input): Body<NewClient>,
) -> Answer {
    let hours = input
        .expires_in_hours
        .map(|h| h.to_string())
        .unwrap_or_default();
    let (client, secret) = s
        .clients
        .create(&who(&b), &project_id, &input.name, &input.scopes, &hours)
        .await
        .map_err(|e| named(e, &[("client_name", "name")]))?;
    Ok((
        StatusCode::CREATED,
        Json(ClientWithSecret::new(&client, &secret)),
    )
        .into_response())
}

async fn rotate_client(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    let (client, secret) = s.clients.rotate(&who(&b), &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ClientWithSecret::new(&client, &secret)),
    )
        .into_response())
}

async fn retire_client(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    req: axum::extract::Request,
) -> Answer {
    use axum::extract::FromRequest;
    // No body, or `{"at": …}` as any JSON body is judged.
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_MAX)
        .await
        .map_err(|_| ManageError(Error::invalid("at", "the body could not be read")))?;
    let retire = if bytes.iter().all(u8::is_ascii_whitespace) {
        Retire::default()
    } else {
        let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        match Body::<Retire>::from_request(req, &()).await {
            Ok(Body(r)) => r,
            Err(refusal) => return Ok(refusal.into_response()),
        }
    };
    let at = retire.at;
    let client = s
        .clients
        .retire(&who(&b), &id, at)
        .await
        .map_err(|e| named(e, &[("retire_at", "at")]))?;
    Ok(Json(ClientAnswer::from(&client)).into_response())
}

/// Each present parameter must be what the document says (an empty `from`
/// is an error here, where the console's form sends one for "any").
#[derive(Deserialize)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    project_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
}

async fn audit_log(
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
        &by.account_id,
        &filter,
        cursor.as_ref(),
        50,
    )
    .await?;
    let entries: Vec<Value> = page
        .entries
        .iter()
        .map(|e| {
            json!({
                "id": e.id, "at": e.at, "actor_kind": e.actor_kind, "actor": e.actor_label,
                "action": e.action, "target_kind": e.target_kind, "target_id": e.target_id,
                "project_id": e.project_id, "client_ip": e.client_ip, "detail": e.detail,
            })
        })
        .collect();
    Ok(Json(json!({ "entries": entries, "next": page.next.map(|c| c.encode()) })).into_response())
}

async fn members(State(s): State<ManageState>, Extension(b): Extension<Bearer>) -> Answer {
    let list: Vec<Value> = s
        .accounts
        .members(&who(&b))
        .await?
        .into_iter()
        .map(|m| json!({ "user_id": m.user_id, "email": m.email, "role": m.role, "joined_at": m.joined_at }))
        .collect();
    Ok(Json(json!({ "members": list })).into_response())
}
