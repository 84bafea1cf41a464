//! `/manage/v1/webhooks`: the same endpoint functions as the console's
//! Webhooks page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use portcullis_core::webhooks::{Delivery, Endpoint, EndpointInput};
use portcullis_gate::Bearer;
use portcullis_reference_apis::{Body, Params};
use serde::Deserialize;
use serde_json::{json, Value};

use super::bodies::{EndpointBody, EndpointChange};
use super::{who, Answer, ManageState};

pub(super) fn endpoint_json(e: &Endpoint) -> Value {
    json!({
        "id": e.id, "url": e.url, "events": e.events, "description": e.description,
        "created_at": e.created_at, "enabled": e.disabled_at.is_none(),
        "disabled_at": e.disabled_at, "disabled_reason": e.disabled_reason,
        "failing_since": e.failing_since,
    })
}

fn delivery_json(d: &Delivery) -> Value {
    json!({
        "id": d.id, "event_type": d.event_type, "created_at": d.created_at, "status": d.status,
        "attempts": d.attempts, "next_attempt_at": d.next_attempt_at,
        "last_attempt_at": d.last_attempt_at, "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "payload": serde_json::from_str::<Value>(&d.payload).unwrap_or(Value::Null),
    })
}

impl From<EndpointBody> for EndpointInput {
    fn from(b: EndpointBody) -> Self {
        Self {
            url: b.url,
            events: b.events,
            description: b.description,
        }
    }
}

pub(super) async fn list(State(s): State<ManageState>, Extension(b): Extension<Bearer>) -> Answer {
    let list: Vec<Value> = s
        .webhooks
        .list(&who(&b))
        .await?
        .iter()
        .map(endpoint_json)
        .collect();
    Ok(Json(json!({ "endpoints": list })).into_response())
}

pub(super) async fn read(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    Ok(Json(endpoint_json(&s.webhooks.get(&who(&b), &id).await?)).into_response())
}

pub(super) async fn create(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Body(input): Body<EndpointBody>,
) -> Answer {
    let (endpoint, secret) = s.webhooks.create(&who(&b), &input.into()).await?;
    let body = json!({ "endpoint": endpoint_json(&endpoint), "signing_secret": secret.to_text() });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub(super) async fn update(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    Body(change): Body<EndpointChange>,
) -> Answer {
    let by = who(&b);
    let now = s.webhooks.get(&by, &id).await?;
    let input = EndpointInput {
        url: change.url.unwrap_or(now.url),
        events: change.events.unwrap_or(now.events),
        description: change.description.unwrap_or(now.description),
    };
    let endpoint = s.webhooks.update(&by, &id, &input).await?;
    Ok(Json(endpoint_json(&endpoint)).into_response())
}

pub(super) async fn enable(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    let endpoint = s.webhooks.set_enabled(&who(&b), &id, true).await?;
    Ok(Json(endpoint_json(&endpoint)).into_response())
}

pub(super) async fn disable(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    let endpoint = s.webhooks.set_enabled(&who(&b), &id, false).await?;
    Ok(Json(endpoint_json(&endpoint)).into_response())
}

pub(super) async fn delete(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    s.webhooks.delete(&who(&b), &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
pub(super) struct DeliveriesQuery {
    before: Option<String>,
}

pub(super) async fn deliveries(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    Params(q): Params<DeliveriesQuery>,
) -> Answer {
    let page = s
        .webhooks
        .deliveries(&who(&b), &id, q.before.as_deref(), 50)
        .await?;
    let list: Vec<Value> = page.deliveries.iter().map(delivery_json).collect();
    Ok(Json(json!({ "deliveries": list, "next": page.next })).into_response())
}

pub(super) async fn resend(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path((id, message_id)): Path<(String, String)>,
) -> Answer {
    let d = s.webhooks.resend(&who(&b), &id, &message_id).await?;
    Ok(Json(delivery_json(&d)).into_response())
}
