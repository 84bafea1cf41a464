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

/// The opening introspection (RFC 7662 §2.1) and revocation (RFC 7009
/// §2.1) share: the form read, the client authenticated behind its
/// address's guard, and the call charged to its project's bucket. An
/// extractor, so neither endpoint can skip a step. (The token endpoint
/// authenticates with [`authenticate`] too, but checks a DPoP proof's
/// nonce before it and charges only once the scopes are known.)
pub struct Charged {
    pub params: Params,
    pub client: Arc<ClientEntry>,
    /// Whether the client used HTTP Basic (the error's challenge says so).
    pub via_header: bool,
}

impl axum::extract::FromRequest<Arc<OAuthState>> for Charged {
    type Rejection = axum::response::Response;

    async fn from_request(
        req: axum::extract::Request,
        state: &Arc<OAuthState>,
    ) -> Result<Self, Self::Rejection> {
        use axum::extract::{ConnectInfo, FromRequestParts};
        use axum::response::IntoResponse;
        let (mut parts, body) = req.into_parts();
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let headers = std::mem::take(&mut parts.headers);
        let body =
            axum::body::Bytes::from_request(axum::extract::Request::from_parts(parts, body), state)
                .await
                .map_err(IntoResponse::into_response)?;
        let charged = async {
            let params = Params::parse(&headers, &body)?;
            let ip = client_ip(state, &headers, peer);
            let (client, via_header) = authenticate(state, &headers, &params, ip).await?;
            let decision = state
                .issuer
                .charge_client(&client)
                .await
                .map_err(|e| OAuthError::from_domain(e, via_header))?;
            if !decision.allowed {
                return Err(OAuthError::RateLimited(decision));
            }
            Ok(Self {
                params,
                client,
                via_header,
            })
        };
        charged.await.map_err(IntoResponse::into_response)
    }
}
