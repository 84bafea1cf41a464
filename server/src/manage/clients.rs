//! `/manage/v1/projects/{id}/clients` and `/manage/v1/clients`: the
//! client operations.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use portcullis_contract::Body;
use portcullis_core::client_keys::KeysInput;
use portcullis_core::Error;
use portcullis_gate::Bearer;

use super::answers::{ClientAnswer, ClientWithSecret};
use super::bodies::{Keys, Narrow, NewClient, Retire, Workload};
use super::{named, who, Answer, ManageError, ManageState, BODY_MAX};

pub(super) async fn narrow_client(
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

pub(super) async fn set_client_keys(
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

pub(super) async fn set_client_workload(
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

pub(super) async fn keep_client(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    s.clients.keep(who(&b).manager()?, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn delete_client(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    s.clients.delete(who(&b).manager()?, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn create_client(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(project_id): Path<String>,
    Body(input): Body<NewClient>,
) -> Answer {
    let hours = input.expires_in_hours;
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
            .create_with_keys(by, &project_id, &input.name, &input.scopes, hours, keys)
            .await
            .map(|client| ClientWithSecret::without_secret(&client)),
        None => s
            .clients
            .create(by, &project_id, &input.name, &input.scopes, hours)
            .await
            .map(|(client, secret)| ClientWithSecret::new(&client, &secret)),
    }
    .map_err(|e| named(e, &[("client_name", "name")]))?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

pub(super) async fn rotate_client(
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

pub(super) async fn retire_client(
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
