//! What every request handler shares.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use portcullis_core::{Accounts, Catalogue, Clients, Issuer, Projects};

#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A session unused this long ends.
    pub idle_secs: i64,
    /// A session this old ends however busy it is.
    pub absolute_secs: i64,
}

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub accounts: Arc<Accounts>,
    pub projects: Arc<Projects>,
    pub clients: Arc<Clients>,
    pub issuer: Arc<Issuer>,
    pub catalogue: Arc<Catalogue>,
    /// Gate credentials (staff make them for resource-server gates).
    pub gates: Arc<portcullis_core::gate_credentials::Gates>,
    /// Where each gate in another process is in the feed, and when each
    /// applied each client cut-off.
    pub reach: Arc<portcullis_core::gate_reach::GateReach>,
    /// Webhook endpoints and their delivery logs.
    pub webhooks: Arc<portcullis_core::webhooks::Webhooks>,
    /// Use summed over the cluster.
    pub usage: Arc<portcullis_core::usage_totals::UsageTotals>,
    /// Dormancy settings (the sweeps run in the background).
    pub lifecycle: Arc<portcullis_core::lifecycle::Lifecycle>,
    /// What open project pages hear of changes.
    pub live: Arc<portcullis_core::feed::pages::ProjectLive>,
    /// The public base URL, no trailing slash (for showing endpoints).
    pub public_base: Arc<str>,
    pub sessions: SessionPolicy,
    pub trusted_proxies: Arc<[IpAddr]>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
