//! `POST /oauth/introspect` (RFC 7662), for resource servers that
//! authenticate as a client of the same project (gates use /gate/v1/introspect).

use axum::body::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use super::client_auth::{authenticate, client_ip};
use super::error::{no_store, OAuthError};
use super::form::Params;
use super::OAuthState;

#[derive(Serialize)]
struct Active<'a> {
    active: bool,
    token_type: &'static str,
    #[serde(flatten)]
    claims: &'a portcullis_core::issuer::Claims,
}

pub async fn introspect(
    State(state): State<Arc<OAuthState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match answer(&state, &headers, peer, &body).await {
        Ok(res) => no_store(res),
        Err(e) => e.into_response(),
    }
}

async fn answer(
    state: &OAuthState,
    headers: &HeaderMap,
    peer: SocketAddr,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let params = Params::parse(headers, body)?;
    let ip = client_ip(state, headers, peer);
    let (caller, via_header) = authenticate(state, headers, &params, ip).await?;
    // Introspection draws on the project's bucket like any other call.
    let decision = state
        .issuer
        .charge_client(&caller)
        .await
        .map_err(|e| OAuthError::from_domain(e, via_header))?;
    if !decision.allowed {
        return Err(OAuthError::RateLimited(decision));
    }
    let token = params.require("token")?;
    // token_type_hint is only a hint, and we issue one kind of token.
    Ok(match state.issuer.introspect(&caller, token) {
        Some(claims) => axum::Json(Active {
            active: true,
            // RFC 9449 §6.2: a bound token is a DPoP token, with its cnf.
            token_type: if claims.cnf.is_some() {
                "DPoP"
            } else {
                "Bearer"
            },
            claims: &claims,
        })
        .into_response(),
        None => axum::Json(json!({ "active": false })).into_response(),
    })
}
