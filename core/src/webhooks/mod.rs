//! Credential-lifecycle webhooks: an account's owner registers endpoints
//! (URL, event types, a signing secret shown once); each audited change of
//! a client, and a project's bucket refusing requests, is told to them from
//! the durable [`outbox`], signed as Standard Webhooks says ([`signing`]).

mod event_type;
pub mod outbox;
pub mod signing;
pub mod targets;

use std::sync::Arc;

use crate::access::{Principal, WebhookAdmin};
use crate::audit;
use crate::clock::{Clock, Epoch};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::ids::new_id;
use crate::master_key::MasterKey;
use crate::store;
use crate::store::webhooks::{EndpointRow, MessageRow};
use crate::validate;

pub use event_type::EventType;
pub use outbox::{Outbox, Outcome, Send};
pub use signing::SigningSecret;
pub use targets::Targets;

pub const ENDPOINTS_MAX: i64 = 20;
/// Deliveries one endpoint may be sent again an hour, by hand.
pub const RESENDS_PER_HOUR_MAX: i64 = 20;
pub const DESCRIPTION_MAX: usize = 200;
pub const LOG_PAGE_MAX: i64 = 100;

/// An endpoint as its account sees it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    pub created_at: Epoch,
    pub disabled_at: Option<Epoch>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<Epoch>,
}

impl From<EndpointRow> for Endpoint {
    fn from(r: EndpointRow) -> Self {
        Self {
            id: r.id,
            url: r.url,
            events: r.events.split_whitespace().map(str::to_owned).collect(),
            description: r.description,
            created_at: r.created_at,
            disabled_at: r.disabled_at,
            disabled_reason: r.disabled_reason,
            failing_since: r.failing_since,
        }
    }
}

/// One message in an endpoint's delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub event_type: String,
    pub payload: String,
    pub created_at: Epoch,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<Epoch>,
    pub last_attempt_at: Option<Epoch>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
}

impl From<MessageRow> for Delivery {
    fn from(r: MessageRow) -> Self {
        Self {
            next_attempt_at: (r.status == "pending").then_some(r.next_attempt_at),
            id: r.id,
            event_type: r.event_type,
            payload: r.payload,
            created_at: r.created_at,
            status: r.status,
            attempts: r.attempts,
            last_attempt_at: r.last_attempt_at,
            last_status_code: r.last_status_code,
            last_error: r.last_error,
        }
    }
}

pub struct DeliveryPage {
    pub deliveries: Vec<Delivery>,
    /// Set when older ones exist: pass it as `before`.
    pub next: Option<String>,
}

/// An endpoint's fields as typed.
#[derive(Debug, Clone, Default)]
pub struct EndpointInput {
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
}

/// Registering and looking after endpoints: owners (and the management
/// clients only owners can make) change them; every member can read them.
pub struct Webhooks {
    db: Db,
    master: Arc<MasterKey>,
    clock: Arc<dyn Clock>,
    targets: Targets,
}

fn check_events(events: &[String]) -> Result<String> {
    let mut out: Vec<&'static str> = Vec::new();
    for e in events {
        let kind = EventType::parse(e).ok_or_else(|| {
            Error::invalid(
                "events",
                format!("{e:?} is not an event type; choose from the list."),
            )
        })?;
        if !out.contains(&kind.as_str()) {
            out.push(kind.as_str());
        }
    }
    if out.is_empty() {
        return Err(Error::invalid("events", "Choose at least one event type."));
    }
    Ok(out.join(" "))
}

impl Webhooks {
    pub fn new(db: Db, master: Arc<MasterKey>, clock: Arc<dyn Clock>, targets: Targets) -> Self {
        Self {
            db,
            master,
            clock,
            targets,
        }
    }

    pub fn targets(&self) -> Targets {
        self.targets
    }

    fn checked(&self, input: &EndpointInput) -> Result<(String, String, String)> {
        let url = self.targets.check_url(&input.url)?;
        let events = check_events(&input.events)?;
        let description =
            validate::description("description", &input.description, DESCRIPTION_MAX)?;
        Ok((url, events, description))
    }

    async fn audit(&self, by: &Principal, action: &'static str, id: &str, detail: String) {
        let event = audit::Event::by(by, action, ("webhook", id), None, detail);
        audit::record_or_log(&self.db, event, self.clock.now()).await;
    }

    /// Registers an endpoint; its signing secret is returned this once.
    pub async fn create(
        &self,
        by: WebhookAdmin<'_>,
        input: &EndpointInput,
    ) -> Result<(Endpoint, SigningSecret)> {
        let by = by.principal();
        let (url, events, description) = self.checked(input)?;
        if store::webhooks::count_endpoints(&self.db, &by.account_id).await? >= ENDPOINTS_MAX {
            return Err(Error::conflict(format!(
                "An account has at most {ENDPOINTS_MAX} endpoints; delete one first."
            )));
        }
        let id = new_id("whe");
        let secret = SigningSecret::generate();
        let row = EndpointRow {
            secret_sealed: self
                .master
                .seal(&outbox::secret_context(&id), secret.as_bytes()),
            id,
            account_id: by.account_id.clone(),
            url,
            events,
            description,
            created_at: self.clock.now(),
            disabled_at: None,
            disabled_reason: None,
            failing_since: None,
        };
        store::webhooks::insert_endpoint(&self.db, &row).await?;
        self.audit(
            by,
            "webhook.create",
            &row.id,
            format!("{} for {}", row.url, row.events),
        )
        .await;
        tracing::info!(endpoint_id = %row.id, "webhook endpoint registered");
        Ok((row.into(), secret))
    }

    pub async fn list(&self, by: &Principal) -> Result<Vec<Endpoint>> {
        Ok(store::webhooks::endpoints(&self.db, &by.account_id)
            .await?
            .into_iter()
            .map(Endpoint::from)
            .collect())
    }

    pub async fn get(&self, by: &Principal, id: &str) -> Result<Endpoint> {
        store::webhooks::endpoint(&self.db, &by.account_id, id.trim())
            .await?
            .map(Endpoint::from)
            .ok_or(Error::NotFound)
    }

    pub async fn update(
        &self,
        by: WebhookAdmin<'_>,
        id: &str,
        input: &EndpointInput,
    ) -> Result<Endpoint> {
        let by = by.principal();
        let (url, events, description) = self.checked(input)?;
        if !store::webhooks::update_endpoint(
            &self.db,
            &by.account_id,
            id,
            &url,
            &events,
            &description,
        )
        .await?
        {
            return Err(Error::NotFound);
        }
        self.audit(by, "webhook.update", id, format!("{url} for {events}"))
            .await;
        self.get(by, id).await
    }

    /// Turns an endpoint off or on. Messages written while it was off are
    /// not kept for it; turning it on resumes its pending retries.
    pub async fn set_enabled(
        &self,
        by: WebhookAdmin<'_>,
        id: &str,
        enabled: bool,
    ) -> Result<Endpoint> {
        let by = by.principal();
        let reason = format!("Turned off by {}.", by.email);
        let off = (!enabled).then(|| (self.clock.now(), reason.as_str()));
        if !store::webhooks::set_disabled(&self.db, &by.account_id, id, off).await? {
            return Err(Error::NotFound);
        }
        let action = if enabled {
            "webhook.enable"
        } else {
            "webhook.disable"
        };
        self.audit(by, action, id, String::new()).await;
        self.get(by, id).await
    }

    /// Deletes an endpoint and its delivery log.
    pub async fn delete(&self, by: WebhookAdmin<'_>, id: &str) -> Result<()> {
        let by = by.principal();
        let mut tx = self.db.begin().await?;
        if !store::webhooks::delete_endpoint(&mut tx, &by.account_id, id).await? {
            return Err(Error::NotFound);
        }
        tx.commit().await?;
        self.audit(by, "webhook.delete", id, String::new()).await;
        Ok(())
    }

    /// One page of an endpoint's delivery log, newest first.
    pub async fn deliveries(
        &self,
        by: &Principal,
        endpoint_id: &str,
        before: Option<&str>,
        limit: i64,
    ) -> Result<DeliveryPage> {
        let endpoint = self.get(by, endpoint_id).await?;
        let cursor = before
            .map(|c| crate::audit::Cursor::decode(c).map(|c| (c.at, c.id)))
            .transpose()?;
        let limit = limit.clamp(1, LOG_PAGE_MAX);
        let mut rows = store::webhooks::messages(
            &self.db,
            &by.account_id,
            &endpoint.id,
            cursor.as_ref().map(|(at, id)| (*at, id.as_str())),
            limit + 1,
        )
        .await?;
        let next = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|r| format!("{}.{}", r.created_at, r.id))
        } else {
            None
        };
        Ok(DeliveryPage {
            deliveries: rows.into_iter().map(Delivery::from).collect(),
            next,
        })
    }

    /// "Send again": the message is due now, with 24 fresh hours of retries.
    pub async fn resend(
        &self,
        by: WebhookAdmin<'_>,
        endpoint_id: &str,
        message_id: &str,
    ) -> Result<Delivery> {
        let by = by.principal();
        let endpoint = self.get(by, endpoint_id).await?;
        if endpoint.disabled_at.is_some() {
            return Err(Error::conflict(
                "The endpoint is turned off; turn it on first.",
            ));
        }
        let now = self.clock.now();
        let recent = store::audit::count_since(
            &self.db,
            &by.account_id,
            "webhook.resend",
            &endpoint.id,
            now - 3600,
        )
        .await?;
        if recent >= RESENDS_PER_HOUR_MAX {
            return Err(Error::conflict(format!(
                "This endpoint was sent {RESENDS_PER_HOUR_MAX} deliveries again in the last hour; wait before sending more."
            )));
        }
        if !store::webhooks::resend(
            &self.db,
            &by.account_id,
            &endpoint.id,
            message_id.trim(),
            now,
            now + outbox::RETRY_FOR_SECS,
        )
        .await?
        {
            // Not ours, or being sent right now (it must not go twice).
            return match store::webhooks::message(
                &self.db,
                &by.account_id,
                &endpoint.id,
                message_id.trim(),
            )
            .await?
            {
                Some(_) => Err(Error::conflict(
                    "This delivery is being sent right now; look again in a moment.",
                )),
                None => Err(Error::NotFound),
            };
        }
        self.audit(
            by,
            "webhook.resend",
            &endpoint.id,
            message_id.trim().to_owned(),
        )
        .await;
        store::webhooks::message(&self.db, &by.account_id, &endpoint.id, message_id.trim())
            .await?
            .map(Delivery::from)
            .ok_or(Error::NotFound)
    }
}
