//! `POST /oauth/token`: the client-credentials grant (RFC 6749 §4.4).

use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::client_auth::{authenticate, client_ip};
use super::error::{no_store, OAuthError};
use super::form::Params;
use super::OAuthState;

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    scope: &'a str,
}

pub async fn token(
    State(state): State<OAuthState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match issue(&state, &headers, peer, &body).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn issue(
    state: &OAuthState,
    headers: &HeaderMap,
    peer: SocketAddr,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let params = Params::parse(headers, body)?;
    let ip = client_ip(state, headers, peer);
    let (client, via_header) = authenticate(state, headers, &params, ip).await?;
    let domain = |e| OAuthError::from_domain(e, via_header);
    match params.require("grant_type")? {
        "client_credentials" => {}
        other => {
            return Err(OAuthError::UnsupportedGrantType(format!(
                "grant_type {other:?} is not supported; use client_credentials"
            )))
        }
    }
    // Scopes first: a malformed request does not spend the bucket.
    let scopes = state
        .issuer
        .requested_scopes(&client, params.get("scope"))
        .map_err(domain)?;
    let decision = state.issuer.charge_client(&client).await.map_err(domain)?;
    if !decision.allowed {
        return Err(OAuthError::RateLimited(decision));
    }
    let minted = state
        .issuer
        .mint(&client, Some(&scopes.join(" ")))
        .map_err(domain)?;
    let mut res = axum::Json(TokenResponse {
        access_token: &minted.access_token,
        token_type: "Bearer",
        expires_in: minted.expires_in,
        scope: &minted.claims.scope,
    })
    .into_response();
    portcullis_gate::apply_rate_limit_headers(res.headers_mut(), &decision);
    Ok(no_store(res))
}
