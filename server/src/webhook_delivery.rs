//! Sends what the webhook outbox holds: every node runs this; the outbox's
//! leases make sure each attempt is made by one of them. Also turns the
//! limiter's refusals into `project.rate_limited` events.

use std::sync::Arc;
use std::time::Duration;

use std::collections::HashMap;

use portcullis_core::webhooks::{outbox, Outbox, Outcome, Send, Targets};
use portcullis_core::{Clock, Db, Issuer};
use tokio::task::{JoinHandle, JoinSet};

/// How often a node with free senders looks for due messages.
const POLL: Duration = Duration::from_secs(1);
/// Messages one node sends at once, and at most this many for one account
/// (each endpoint has at most one in flight in the whole cluster).
const PARALLEL: usize = 8;
const PER_ACCOUNT: usize = 3;
/// An attempt that takes longer has failed (well under the lease).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RATE_LIMITED_FLUSH: Duration = Duration::from_secs(5);
const PRUNE: Duration = Duration::from_secs(3600);

fn http_client(targets: Targets) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("Portcullis-Webhooks/", env!("CARGO_PKG_VERSION")))
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        // A redirect could lead anywhere; the receiver's URL is what was registered.
        .redirect(reqwest::redirect::Policy::none())
        // A proxy from the environment would connect for us, past the
        // address check below.
        .no_proxy()
        .dns_resolver(Arc::new(crate::outbound::AllowedOnly(targets)))
        .build()
}

/// Makes one attempt. IP-literal hosts skip the resolver, so they are
/// checked here.
#[tracing::instrument(skip_all, fields(message_id = %send.message_id, account_id = %send.account_id))]
async fn attempt(client: &reqwest::Client, targets: Targets, send: &Send) -> Outcome {
    if !crate::outbound::literal_allowed(targets, &send.url) {
        return Outcome::Unreachable("the address is not one this server may send to".into());
    }
    let sent = client
        .post(&send.url)
        .header("content-type", "application/json")
        .header("webhook-id", &send.message_id)
        .header("webhook-timestamp", send.timestamp.to_string())
        .header("webhook-signature", &send.signature)
        .body(send.body.clone())
        .send()
        .await;
    match sent {
        Ok(res) => Outcome::Status(res.status().as_u16()),
        Err(e) => Outcome::Unreachable(describe(&e)),
    }
}

/// A short reason for the delivery log, without the URL (it is shown
/// beside it) and without anything the receiver sent.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer within 15 s".into()
    } else if e.is_connect() {
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            let text = s.to_string();
            if text.contains("may send to") {
                return text;
            }
            source = s.source();
        }
        "could not connect".into()
    } else {
        "the request failed".into()
    }
}

/// Sends continuously: a sender that finishes frees its place at once and
/// the next due message is claimed (and leased) just before it is sent, so
/// no attempt waits for a slower one or outlives its lease.
async fn deliver(outbox: Arc<Outbox>, client: reqwest::Client, targets: Targets) {
    let mut sending: JoinSet<String> = JoinSet::new();
    let mut busy: HashMap<String, usize> = HashMap::new();
    loop {
        let free = PARALLEL - sending.len();
        let mut claimed = 0;
        if free > 0 {
            match outbox.claim(free, &busy, PER_ACCOUNT).await {
                Ok(sends) => {
                    claimed = sends.len();
                    for send in sends {
                        *busy.entry(send.account_id.clone()).or_default() += 1;
                        let (client, outbox) = (client.clone(), outbox.clone());
                        sending.spawn(async move {
                            let outcome = attempt(&client, targets, &send).await;
                            crate::metrics::webhook_delivery(&outcome);
                            if let Err(e) = outbox.settle(&send, &outcome).await {
                                tracing::warn!(error = %e, message_id = %send.message_id, "could not record a webhook attempt; it will be made again");
                            }
                            send.account_id
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the webhook outbox; will retry")
                }
            }
        }
        // Wait for a sender to finish, or look again after a while (at once
        // when this look filled every free place: more may be due).
        let wait = if claimed > 0 && claimed == free {
            Duration::ZERO
        } else {
            POLL
        };
        tokio::select! {
            Some(done) = sending.join_next(), if !sending.is_empty() => {
                if let Ok(account) = done {
                    if let Some(n) = busy.get_mut(&account) {
                        *n -= 1;
                        if *n == 0 {
                            busy.remove(&account);
                        }
                    }
                } else {
                    // A sender panicked (a bug): its account is unknown,
                    // so the per-account counts start over; the
                    // one-per-endpoint rule holds regardless.
                    busy.clear();
                    tracing::error!("a webhook sender stopped unexpectedly");
                }
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Starts the deliverer and the rate-limited notices on this node.
pub fn start(
    db: Db,
    outbox: Arc<Outbox>,
    issuer: Arc<Issuer>,
    clock: Arc<dyn Clock>,
    targets: Targets,
) -> Vec<JoinHandle<()>> {
    let client = match http_client(targets) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot make the webhook HTTP client; webhooks are not sent from this node");
            return Vec::new();
        }
    };
    let deliver = tokio::spawn(deliver(outbox.clone(), client, targets));
    let notices = tokio::spawn({
        let db = db.clone();
        async move {
            let mut tick = tokio::time::interval(RATE_LIMITED_FLUSH);
            // Kept until written: a failed write is tried again next time
            // (a project told meanwhile is not told twice within the minute).
            let mut pending: Vec<(String, i64)> = Vec::new();
            loop {
                tick.tick().await;
                pending.extend(issuer.limiter().take_limited());
                if pending.is_empty() {
                    continue;
                }
                match outbox::rate_limited(&db, &pending, clock.now()).await {
                    Ok(told) => {
                        tracing::debug!(told, seen = pending.len(), "rate-limited projects told");
                        pending.clear();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not write rate-limited webhook events; will retry");
                        let excess = pending.len().saturating_sub(10_000);
                        pending.drain(..excess);
                    }
                }
            }
        }
    });
    let prune = tokio::spawn(async move {
        let mut tick = tokio::time::interval(PRUNE);
        loop {
            tick.tick().await;
            if let Err(e) = outbox.prune().await {
                tracing::warn!(error = %e, "could not prune the webhook delivery log");
            }
        }
    });
    vec![deliver, notices, prune]
}
