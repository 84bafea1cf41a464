//! Webhook endpoints and their delivery logs: server functions and wire
//! types. The same `portcullis_core::webhooks` functions as the management
//! API's `/manage/v1/webhooks`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ConsoleError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointInfo {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhooksView {
    pub endpoints: Vec<EndpointInfo>,
    /// (type, what it tells), in the order to offer them.
    pub event_types: Vec<(String, String)>,
    /// Owners register and change endpoints; others look.
    pub can_manage: bool,
    /// Plain http and private addresses are allowed by the operator.
    pub private_targets: bool,
}

/// A new endpoint: its signing secret is in this answer and nowhere else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEndpoint {
    pub endpoint: EndpointInfo,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryInfo {
    pub id: String,
    pub event_type: String,
    pub created_at: i64,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveriesView {
    pub deliveries: Vec<DeliveryInfo>,
    pub next: Option<String>,
}

#[cfg(feature = "ssr")]
fn info(e: portcullis_core::webhooks::Endpoint) -> EndpointInfo {
    EndpointInfo {
        id: e.id,
        url: e.url,
        events: e.events,
        description: e.description,
        created_at: e.created_at,
        disabled_at: e.disabled_at,
        disabled_reason: e.disabled_reason,
        failing_since: e.failing_since,
    }
}

/// `events` as the forms send them: types separated by spaces.
#[cfg(feature = "ssr")]
fn endpoint_input(
    url: String,
    events: &str,
    description: String,
) -> portcullis_core::webhooks::EndpointInput {
    portcullis_core::webhooks::EndpointInput {
        url,
        events: events.split_whitespace().map(str::to_owned).collect(),
        description,
    }
}

#[server(endpoint = "webhooks")]
pub async fn webhooks() -> Result<WebhooksView, ConsoleError> {
    use crate::ssr;
    use portcullis_core::webhooks::{EventType, Targets};
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let endpoints = state.webhooks.list(&p).await?;
        Ok(WebhooksView {
            endpoints: endpoints.into_iter().map(info).collect(),
            event_types: EventType::ALL
                .iter()
                .map(|e| (e.as_str().to_owned(), e.describe().to_owned()))
                .collect(),
            can_manage: p.role() == portcullis_core::Role::Owner,
            private_targets: state.webhooks.targets() == Targets::AnyHttp,
        })
    })
    .await
}

/// `events`: the chosen event types, separated by spaces.
#[server(endpoint = "webhook_create")]
pub async fn create_webhook(
    url: String,
    #[server(default)] events: String,
    #[server(default)] description: String,
) -> Result<NewEndpoint, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let input = endpoint_input(url, &events, description);
        let (endpoint, secret) = state.webhooks.create(p.webhook_admin()?, &input).await?;
        Ok(NewEndpoint {
            endpoint: info(endpoint),
            secret: secret.to_text(),
        })
    })
    .await
}

/// Changes an endpoint's URL, events and note; its secret stays.
#[server(endpoint = "webhook_update")]
pub async fn update_webhook(
    id: String,
    url: String,
    #[server(default)] events: String,
    #[server(default)] description: String,
) -> Result<EndpointInfo, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let input = endpoint_input(url, &events, description);
        Ok(info(
            state
                .webhooks
                .update(p.webhook_admin()?, &id, &input)
                .await?,
        ))
    })
    .await
}

#[server(endpoint = "webhook_enabled")]
pub async fn set_webhook_enabled(id: String, enabled: bool) -> Result<EndpointInfo, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        Ok(info(
            state
                .webhooks
                .set_enabled(p.webhook_admin()?, &id, enabled)
                .await?,
        ))
    })
    .await
}

#[server(endpoint = "webhook_delete")]
pub async fn delete_webhook(id: String) -> Result<(), ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        state.webhooks.delete(p.webhook_admin()?, &id).await?;
        Ok(())
    })
    .await
}

#[server(endpoint = "webhook_deliveries")]
pub async fn webhook_deliveries(
    id: String,
    #[server(default)] before: String,
) -> Result<DeliveriesView, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let page = state
            .webhooks
            .deliveries(&p, &id, Some(before.as_str()).filter(|b| !b.is_empty()), 25)
            .await?;
        Ok(DeliveriesView {
            deliveries: page
                .deliveries
                .into_iter()
                .map(|d| DeliveryInfo {
                    id: d.id,
                    event_type: d.event_type,
                    created_at: d.created_at,
                    status: d.status,
                    attempts: d.attempts,
                    next_attempt_at: d.next_attempt_at,
                    last_attempt_at: d.last_attempt_at,
                    last_status_code: d.last_status_code,
                    last_error: d.last_error,
                })
                .collect(),
            next: page.next,
        })
    })
    .await
}

#[server(endpoint = "webhook_resend")]
pub async fn resend_delivery(id: String, message_id: String) -> Result<(), ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        state
            .webhooks
            .resend(p.webhook_admin()?, &id, &message_id)
            .await?;
        Ok(())
    })
    .await
}
