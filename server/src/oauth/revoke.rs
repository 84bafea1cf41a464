//! `POST /oauth/revoke` (RFC 7009): a client revokes one of its own access
//! tokens. The answer is 200 whether or not anything was revoked, so it says
//! nothing about tokens that are not the caller's.

use axum::body::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::client_auth::{authenticate, client_ip};
use super::error::{no_store, OAuthError};
use super::form::Params;
use super::OAuthState;

pub async fn revoke(
    State(state): State<Arc<OAuthState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let params = Params::parse(&headers, &body)?;
        let ip = client_ip(&state, &headers, peer);
        let (caller, via_header) = authenticate(&state, &headers, &params, ip).await?;
        let domain = |e| OAuthError::from_domain(e, via_header);
        // Revocations are writes: they draw on the project's bucket.
        let decision = state.issuer.charge_client(&caller).await.map_err(domain)?;
        if !decision.allowed {
            return Err(OAuthError::RateLimited(decision));
        }
        let token = params.require("token")?;
        state.issuer.revoke(&caller, token).await.map_err(domain)?;
        Ok::<_, OAuthError>(())
    }
    .await;
    match result {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => e.into_response(),
    }
}
