//! `POST /oauth/token`: the client-credentials grant (RFC 6749 §4.4).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::{no_store, OAuthError};
use super::form::{credentials, Params};
use super::OAuthState;

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    scope: &'a str,
}

pub async fn token(State(state): State<OAuthState>, headers: HeaderMap, body: Bytes) -> Response {
    match issue(&state, &headers, &body) {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

fn issue(state: &OAuthState, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let params = Params::parse(headers, body)?;
    let creds = credentials(headers, &params)?;
    let via_header = creds.via_header;
    let domain = |e| OAuthError::from_domain(e, via_header);
    let client = state
        .issuer
        .authenticate(&creds.client_id, &creds.secret)
        .map_err(domain)?;
    match params.require("grant_type")? {
        "client_credentials" => {}
        other => {
            return Err(OAuthError::UnsupportedGrantType(format!(
                "grant_type {other:?} is not supported; use client_credentials"
            )))
        }
    }
    let minted = state
        .issuer
        .mint(&client, params.get("scope"))
        .map_err(domain)?;
    Ok(no_store(
        axum::Json(TokenResponse {
            access_token: &minted.access_token,
            token_type: "Bearer",
            expires_in: minted.expires_in,
            scope: &minted.claims.scope,
        })
        .into_response(),
    ))
}
