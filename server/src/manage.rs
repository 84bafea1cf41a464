//! The management API (`/manage/v1`): an account's automation, on our own
//! tokens. Each route names its `manage:*` scope and sits behind the same
//! gate as every API; each handler is a thin shell over the same domain
//! functions the console's server functions call, acting as the management
//! client (a developer of the token's own account).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Extension, Json, Router};
use portcullis_core::audit::{self, Cursor, Filter};
use portcullis_core::projects::ProjectInput;
use portcullis_core::{access, manage, Accounts, Clients, Error, Principal, Projects};
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
    /// How long a request may run: an unsettled idempotency key is free
    /// again a little after it.
    pub request_timeout_secs: i64,
}

/// The scope no token has: an operation missing from the role table
/// refuses every caller.
const UNLISTED: &str = "manage:(not in the role table)";

/// One operation: its handler behind the scope the role table gives it
/// (checked first, before anything is read or replayed) and, for a write,
/// the idempotency layer inside that.
fn op<H, T>(
    method: &'static str,
    path: &'static str,
    handler: H,
    s: &ManageState,
) -> MethodRouter<ManageState>
where
    H: axum::handler::Handler<T, ManageState>,
    T: 'static,
{
    use axum::handler::Handler;
    let needs = scope(access::table::manage_scope(method, path).unwrap_or(UNLISTED));
    match method {
        "GET" => axum::routing::get(handler.layer(needs)),
        "DELETE" => axum::routing::delete(handler.layer(needs)),
        _ => axum::routing::post(
            handler
                .layer(axum::middleware::from_fn_with_state(s.clone(), idempotent))
                .layer(needs),
        ),
    }
}

/// The routes, behind `gate`, to be nested at `/manage/v1`. Who may call
/// each is [`access::table::MANAGE`].
// One operation per line: path, then each verb with its handler.
#[rustfmt::skip]
pub fn router(gate: &Gate, state: ManageState) -> Router {
    let s = &state;
    Router::new()
        .route("/projects", op("GET", "/projects", list_projects, s).merge(op("POST", "/projects", create_project, s)))
        .route("/projects/{id}", op("GET", "/projects/{id}", read_project, s).merge(op("POST", "/projects/{id}", update_project, s)))
        .route("/projects/{id}/archive", op("POST", "/projects/{id}/archive", archive_project, s))
        .route("/projects/{id}/rate-limit", op("POST", "/projects/{id}/rate-limit", rate_limit, s))
        .route("/projects/{id}/keys-only", op("POST", "/projects/{id}/keys-only", keys_only, s))
        .route("/projects/{id}/clients", op("POST", "/projects/{id}/clients", create_client, s))
        .route("/clients/{id}", op("DELETE", "/clients/{id}", delete_client, s))
        .route("/clients/{id}/narrow", op("POST", "/clients/{id}/narrow", narrow_client, s))
        .route("/clients/{id}/keys", op("POST", "/clients/{id}/keys", set_client_keys, s))
        .route("/clients/{id}/workload", op("POST", "/clients/{id}/workload", set_client_workload, s))
        .route("/clients/{id}/rotate", op("POST", "/clients/{id}/rotate", rotate_client, s))
        .route("/clients/{id}/retire", op("POST", "/clients/{id}/retire", retire_client, s))
        .route("/clients/{id}/keep", op("POST", "/clients/{id}/keep", keep_client, s))
        .route("/audit", op("GET", "/audit", audit_log, s))
        .route("/members", op("GET", "/members", members, s))
        .route("/webhooks", op("GET", "/webhooks", webhooks::list, s).merge(op("POST", "/webhooks", webhooks::create, s)))
        .route("/webhooks/{id}", op("GET", "/webhooks/{id}", webhooks::read, s).merge(op("POST", "/webhooks/{id}", webhooks::update, s)).merge(op("DELETE", "/webhooks/{id}", webhooks::delete, s)))
        .route("/webhooks/{id}/enable", op("POST", "/webhooks/{id}/enable", webhooks::enable, s))
        .route("/webhooks/{id}/disable", op("POST", "/webhooks/{id}/disable", webhooks::disable, s))
        .route("/webhooks/{id}/deliveries", op("GET", "/webhooks/{id}/deliveries", webhooks::deliveries, s))
        .route("/webhooks/{id}/deliveries/{message_id}/resend", op("POST", "/webhooks/{id}/deliveries/{message_id}/resend", webhooks::resend, s))
        .fallback(|| async { refuse(StatusCode::NOT_FOUND, "not_found", "no such endpoint; see /openapi.json", None) })
        .layer(axum::middleware::from_fn(portcullis_reference_apis::only_possible_ids))
        .layer(gate.layer())
        .with_state(state)
}

/// Writes with an `Idempotency-Key` header: the first success is kept and
/// sent again for the same key and request (see `portcullis_core::idempotency`).
/// Runs inside the route's scope check (so a token without the scope, or of
/// a client no longer live, never gets a kept answer), and the gate's.
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

pub(crate) mod answers;
pub(crate) mod bodies;
mod webhooks;

use answers::{ClientAnswer, ClientWithSecret, ProjectAnswer};
use bodies::{
    Keys, KeysOnly, Narrow, NewClient, NewProject, ProjectChange, RateLimit, Retire, Workload,
};
use portcullis_core::client_keys::KeysInput;

/// Management requests and answers are small.
const BODY_MAX: usize = 256 * 1024;

/// The principal the token acts as; its account is the token's own.
pub(super) fn who(b: &Bearer) -> Principal {
    manage::principal(&b.claims, None)
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
            who(&b).manager()?,
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
            by.manager()?,
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
    let project = s.projects.archive_project(who(&b).manager()?, &id).await?;
    Ok(Json(ProjectAnswer::new(&project, None)).into_response())
}

async fn keys_only(
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

async fn rate_limit(
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
    let client = s
        .clients
        .narrow(who(&b).manager()?, &id, &input.scopes)
        .await?;
    Ok(Json(ClientAnswer::from(&client)).into_response())
}

async fn set_client_keys(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    Body(input): Body<Keys>,
) -> Answer {
    let client = s
        .clients
        .set_keys(who(&b).manager()?, &id, input.keys()?)
        .await?;
    Ok(Json(ClientAnswer::from(&client)).into_response())
}

async fn set_client_workload(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    Body(input): Body<Workload>,
) -> Answer {
    let trust = input.input();
    let client = s
        .clients
        .set_keys(who(&b).manager()?, &id, KeysInput::Workload(&trust))
        .await?;
    Ok(Json(ClientAnswer::from(&client)).into_response())
}

async fn keep_client(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    s.clients.keep(who(&b).manager()?, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_client(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    s.clients.delete(who(&b).manager()?, &id).await?;
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
    let caller = who(&b);
    let by = caller.manager()?;
    let trust = input.workload.as_ref().map(Workload::input);
    let keys = match &trust {
        Some(t) => Some(input.keys().map(|_| KeysInput::Workload(t))?),
        None => input.keys()?,
    };
    let answer = match keys {
        Some(keys) => s
            .clients
            .create_with_keys(by, &project_id, &input.name, &input.scopes, &hours, keys)
            .await
            .map(|client| ClientWithSecret::without_secret(&client)),
        None => s
            .clients
            .create(by, &project_id, &input.name, &input.scopes, &hours)
            .await
            .map(|(client, secret)| ClientWithSecret::new(&client, &secret)),
    }
    .map_err(|e| named(e, &[("client_name", "name")]))?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

async fn rotate_client(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    let (client, secret) = s.clients.rotate(who(&b).manager()?, &id).await?;
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
        .retire(who(&b).manager()?, &id, at)
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
        by.account_id(),
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
