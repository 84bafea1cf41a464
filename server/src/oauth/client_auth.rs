//! Client authentication shared by the token, introspection and revocation
//! endpoints, behind a per-address brute-force guard (RFC 6749 §2.3.1):
//! after 20 failures from one client address, that address waits 1 s,
//! 2 s, 4 s … up to 15 minutes. Client ids are not keyed, so nobody can lock
//! a partner out by guessing at its id.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::http::HeaderMap;
use portcullis_core::registry::ClientEntry;

use super::error::OAuthError;
use super::form::{credentials, Credentials, Params};
use super::OAuthState;

/// The caller's address, believing `X-Forwarded-For` only from the
/// configured proxies.
pub fn client_ip(state: &OAuthState, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    let forwarded = app::ssr::forwarded_for(headers);
    portcullis_core::client_ip::resolve(peer.ip(), &forwarded, &state.trusted_proxies)
}

/// The authenticated client, and whether it used HTTP Basic.
pub async fn authenticate(
    state: &OAuthState,
    headers: &HeaderMap,
    params: &Params,
    ip: IpAddr,
) -> Result<(Arc<ClientEntry>, bool), OAuthError> {
    let now = state.issuer.clock().now();
    if let Err(retry_after) = state.failures.check_ip(ip, now) {
        return Err(OAuthError::TooManyFailures { retry_after });
    }
    let creds = credentials(headers, params)?;
    let via_header = creds.via_header();
    let checked = match &creds {
        Credentials::Secret {
            client_id, secret, ..
        } => state.issuer.authenticate(client_id, secret),
        Credentials::Assertion {
            client_id,
            kind,
            assertion,
        } => {
            let audiences: Vec<&str> = state
                .assertion_audiences
                .iter()
                .map(String::as_str)
                .collect();
            state
                .issuer
                .authenticate_assertion(client_id.as_deref(), *kind, assertion, &audiences)
                .await
        }
    };
    match checked {
        Ok(client) => Ok((client, via_header)),
        Err(e @ portcullis_core::Error::InvalidClient) => {
            state.failures.record_ip_failure_everywhere(ip, now).await;
            Err(OAuthError::from_domain(e, via_header))
        }
        Err(e) => Err(OAuthError::from_domain(e, via_header)),
    }
}
