//! Server-only glue between the console's server functions and the domain
//! core: shared state, the session, the client address and error mapping.

mod csp;
mod error_map;
pub mod lazy_islands;
mod session;
mod state;

pub use csp::{page_csp, provide_page_context};
pub use error_map::respond;
pub use session::{
    clear_pending_log_in, current_principal, current_quietly, current_staff, end_session,
    keep_after_password_change, keep_pending_log_in, pending_log_in, start_pending_log_in,
    start_session, start_staff_session, SessionRecord,
};
pub use state::{AppState, SessionPolicy};

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use leptos::prelude::*;
use portcullis_core::{Principal, Staff};
use tower_sessions::Session;

use crate::error::ConsoleError;

pub fn state() -> Result<AppState, ConsoleError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        ConsoleError::Internal
    })
}

pub async fn session() -> Result<Session, ConsoleError> {
    leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!(error = %e, "no session layer on this request");
        ConsoleError::Internal
    })
}

/// The signed-in user, or `Unauthenticated`; `SecondFactorRequired` while
/// their account requires a second factor they have not set up.
pub async fn require_principal() -> Result<(AppState, Principal), ConsoleError> {
    let (state, principal) = require_member_unchecked().await?;
    if principal.must_set_up_second_factor() {
        return Err(ConsoleError::SecondFactorRequired);
    }
    Ok((state, principal))
}

/// Who the role table's check at the edge found calling (the server's
/// `middleware::access`), riding on the request so a server function reads
/// the session once.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub principal: Option<Principal>,
    pub staff: Option<Staff>,
    pub pending_log_in: bool,
}

/// The caller: as the edge found them, or (a function called while a page
/// renders, where no edge ran) from the session.
async fn resolved(state: &AppState) -> Result<Resolved, ConsoleError> {
    let found =
        use_context::<http::request::Parts>().and_then(|p| p.extensions.get::<Resolved>().cloned());
    if let Some(r) = found {
        return Ok(r);
    }
    let session = session().await?;
    if let Some(staff) = current_staff(&session, state).await? {
        return Ok(Resolved {
            principal: None,
            staff: Some(staff),
            pending_log_in: false,
        });
    }
    Ok(Resolved {
        principal: current_principal(&session, state).await?,
        staff: None,
        pending_log_in: false,
    })
}

/// The signed-in user even before the second factor their account
/// requires: for "who am I" and the Security page that sets it up.
pub async fn require_member_unchecked() -> Result<(AppState, Principal), ConsoleError> {
    let state = state()?;
    let mut principal = resolved(&state)
        .await?
        .principal
        .ok_or(ConsoleError::Unauthenticated)?;
    principal.set_client_ip(client_ip(&state).await);
    Ok((state, principal))
}

/// The signed-in support staff member, who must have a second factor:
/// account users get `Forbidden`, signed-out visitors `Unauthenticated`.
pub async fn require_staff() -> Result<(AppState, Staff), ConsoleError> {
    let (state, staff) = require_staff_unchecked().await?;
    if !staff.has_second_factor() {
        return Err(ConsoleError::SecondFactorRequired);
    }
    Ok((state, staff))
}

/// The signed-in staff member, second factor or not (to set one up).
pub async fn require_staff_unchecked() -> Result<(AppState, Staff), ConsoleError> {
    let state = state()?;
    match resolved(&state).await? {
        Resolved {
            staff: Some(staff), ..
        } => Ok((state, staff)),
        Resolved {
            principal: Some(_), ..
        } => Err(ConsoleError::Forbidden),
        _ => Err(ConsoleError::Unauthenticated),
    }
}

/// Whoever is signed in, member or staff, before any second-factor rule.
pub enum Someone {
    Member(Principal),
    Staff(Staff),
}

impl Someone {
    pub fn person(&self) -> portcullis_core::Person<'_> {
        match self {
            Someone::Member(p) => portcullis_core::Person::Member(p),
            Someone::Staff(s) => portcullis_core::Person::Staff(s),
        }
    }
}

pub async fn require_someone() -> Result<(AppState, Someone), ConsoleError> {
    let state = state()?;
    match resolved(&state).await? {
        Resolved {
            staff: Some(staff), ..
        } => Ok((state, Someone::Staff(staff))),
        Resolved {
            principal: Some(mut principal),
            ..
        } => {
            principal.set_client_ip(client_ip(&state).await);
            Ok((state, Someone::Member(principal)))
        }
        _ => Err(ConsoleError::Unauthenticated),
    }
}

/// The client's address, believing `X-Forwarded-For` only from the
/// configured proxies.
pub async fn client_ip(state: &AppState) -> Option<std::net::IpAddr> {
    let ConnectInfo(peer) = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .ok()?;
    let parts = use_context::<http::request::Parts>();
    let forwarded = parts
        .as_ref()
        .map(|p| forwarded_for(&p.headers))
        .unwrap_or_default();
    Some(portcullis_core::client_ip::resolve(
        peer.ip(),
        &forwarded,
        &state.trusted_proxies,
    ))
}

/// Every `X-Forwarded-For` line, in order; a line that is not text becomes
/// one that stops the walk (see [`portcullis_core::client_ip::resolve`]).
pub fn forwarded_for(headers: &http::HeaderMap) -> Vec<&str> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().unwrap_or("(not text)"))
        .collect()
}
