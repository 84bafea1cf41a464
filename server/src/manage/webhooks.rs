//! `/manage/v1/webhooks`: the same endpoint functions as the console's
//! Webhooks page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use portcullis_contract::{Body, Params};
use portcullis_core::webhooks::{EndpointInput, Targets};
use portcullis_core::Error;
use portcullis_gate::Bearer;
use serde::Deserialize;
use serde_json::json;

use super::answers::{DeliveryAnswer, EndpointAnswer, EndpointWithSecret};
use super::bodies::{EndpointBody, EndpointChange};
use super::{who, Answer, ManageState};

/// The document's `format: uri` and `pattern` for `url`, which the API
/// holds callers to exactly (the console's form is kinder: it trims what
/// was pasted). Characters are RFC 3986's (§2: unreserved, reserved and
/// `%`); the scheme is written in lower case, as the pattern has it.
fn exact_url(url: &str, targets: Targets) -> Result<(), Error> {
    let refuse = |m: &str| Err(Error::invalid("url", m.to_owned()));
    let rfc3986 = |c: char| c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c);
    if !url.chars().all(rfc3986) {
        return refuse(
            "Write the URL as a URI: no spaces, and non-ASCII characters percent-encoded.",
        );
    }
    let scheme_ok =
        url.starts_with("https://") || (targets == Targets::AnyHttp && url.starts_with("http://"));
    if !scheme_ok {
        return refuse("Use an https:// URL.");
    }
    Ok(())
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
    let list: Vec<EndpointAnswer> = s
        .webhooks
        .list(&who(&b))
        .await?
        .iter()
        .map(EndpointAnswer::from)
        .collect();
    Ok(Json(json!({ "endpoints": list })).into_response())
}

pub(super) async fn read(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    Ok(Json(EndpointAnswer::from(&s.webhooks.get(&who(&b), &id).await?)).into_response())
}

pub(super) async fn create(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Body(input): Body<EndpointBody>,
) -> Answer {
    exact_url(&input.url, s.webhooks.targets())?;
    let (endpoint, secret) = s
        .webhooks
        .create(who(&b).webhook_admin()?, &input.into())
        .await?;
    let body = EndpointWithSecret::new(&endpoint, &secret);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub(super) async fn update(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
    Body(change): Body<EndpointChange>,
) -> Answer {
    let by = who(&b);
    if let Some(url) = &change.url {
        exact_url(url, s.webhooks.targets())?;
    }
    let now = s.webhooks.get(&by, &id).await?;
    let input = EndpointInput {
        url: change.url.unwrap_or(now.url),
        events: change.events.unwrap_or(now.events),
        description: change.description.unwrap_or(now.description),
    };
    let endpoint = s.webhooks.update(by.webhook_admin()?, &id, &input).await?;
    Ok(Json(EndpointAnswer::from(&endpoint)).into_response())
}

pub(super) async fn enable(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    let endpoint = s
        .webhooks
        .set_enabled(who(&b).webhook_admin()?, &id, true)
        .await?;
    Ok(Json(EndpointAnswer::from(&endpoint)).into_response())
}

pub(super) async fn disable(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    let endpoint = s
        .webhooks
        .set_enabled(who(&b).webhook_admin()?, &id, false)
        .await?;
    Ok(Json(EndpointAnswer::from(&endpoint)).into_response())
}

pub(super) async fn delete(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path(id): Path<String>,
) -> Answer {
    s.webhooks.delete(who(&b).webhook_admin()?, &id).await?;
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
    let list: Vec<DeliveryAnswer> = page.deliveries.iter().map(DeliveryAnswer::from).collect();
    Ok(Json(json!({ "deliveries": list, "next": page.next })).into_response())
}

pub(super) async fn resend(
    State(s): State<ManageState>,
    Extension(b): Extension<Bearer>,
    Path((id, message_id)): Path<(String, String)>,
) -> Answer {
    let d = s
        .webhooks
        .resend(who(&b).webhook_admin()?, &id, &message_id)
        .await?;
    Ok(Json(DeliveryAnswer::from(&d)).into_response())
}
