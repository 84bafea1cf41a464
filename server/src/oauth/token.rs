//! `POST /oauth/token`: the client-credentials grant (RFC 6749 §4.4).

use axum::body::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;

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
    State(state): State<Arc<OAuthState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = std::time::Instant::now();
    let mut api = None;
    let (res, result) = match issue(&state, &headers, peer, &body, &mut api).await {
        Ok(res) => (res, "issued"),
        Err(e) => {
            let code = e.code();
            (e.into_response(), code)
        }
    };
    state
        .metrics
        .record(api.as_ref().map(|p| p.api_id.as_str()), result, started);
    res
}

/// `api`: set to the client's project once the client is known (its API
/// is the metrics' label).
async fn issue(
    state: &OAuthState,
    headers: &HeaderMap,
    peer: SocketAddr,
    body: &[u8],
    api: &mut Option<std::sync::Arc<portcullis_core::registry::ProjectEntry>>,
) -> Result<Response, OAuthError> {
    let params = Params::parse(headers, body)?;
    let ip = client_ip(state, headers, peer);
    let proof = dpop_proof(state, headers)?;
    let now = state.issuer.clock().now();
    let nonces = state.issuer.dpop_nonces();
    if let (Some(p), Some(nonces)) = (&proof, nonces) {
        // §8: a proof without a nonce of ours (or with a stale one) is
        // answered with one. Before client authentication, so a retry may
        // send the same client assertion (its jti is not spent yet).
        if !p.nonce.as_deref().is_some_and(|n| nonces.valid(n, now)) {
            return Err(OAuthError::UseDpopNonce {
                nonce: nonces.current(now),
            });
        }
    }
    let (client, via_header) = authenticate(state, headers, &params, ip).await?;
    *api = state.issuer.registry().project(&client.project_id);
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
    if let Some(p) = &proof {
        if !state.issuer.first_proof_use(p).await.map_err(domain)? {
            return Err(OAuthError::InvalidDpopProof(
                portcullis_gate::dpop::BadProof::Replayed.to_string(),
            ));
        }
    }
    let decision = state.issuer.charge_client(&client).await.map_err(domain)?;
    if !decision.allowed {
        return Err(OAuthError::RateLimited(decision));
    }
    if let Some(exhausted) = state.issuer.take_quota(&client).await.map_err(domain)? {
        return Err(OAuthError::QuotaExhausted(exhausted));
    }
    let jkt = proof.as_ref().map(|p| p.jkt.as_str());
    let minted = state
        .issuer
        .mint_bound(&client, Some(&scopes.join(" ")), jkt)
        .map_err(domain)?;
    let mut res = axum::Json(TokenResponse {
        access_token: &minted.access_token,
        // RFC 9449 §5: a bound token is of type DPoP.
        token_type: if jkt.is_some() { "DPoP" } else { "Bearer" },
        expires_in: minted.expires_in,
        scope: &minted.claims.scope,
    })
    .into_response();
    portcullis_gate::apply_rate_limit_headers(res.headers_mut(), &decision);
    // §8.2: the nonce to use next, before this one goes stale.
    if let (Some(_), Some(nonces)) = (&proof, nonces) {
        if let Ok(v) = axum::http::HeaderValue::from_str(&nonces.current(now)) {
            res.headers_mut().insert("dpop-nonce", v);
        }
    }
    Ok(no_store(res))
}

/// The request's DPoP proof (RFC 9449 §4.3), if it sent one: checked
/// against this endpoint's URL and `POST`; its `jti` is the caller's.
fn dpop_proof(
    state: &OAuthState,
    headers: &HeaderMap,
) -> Result<Option<portcullis_gate::dpop::Proof>, OAuthError> {
    use portcullis_gate::dpop::{check, BadProof, Expect};
    let bad = |e: BadProof| OAuthError::InvalidDpopProof(e.to_string());
    let mut proofs = headers.get_all("dpop").iter();
    let proof = match (proofs.next(), proofs.next()) {
        (None, _) => return Ok(None),
        (Some(p), None) => p.to_str().map_err(|_| bad(BadProof::Malformed))?,
        _ => return Err(bad(BadProof::Count)),
    };
    let expect = Expect {
        method: "POST",
        url: &state.token_endpoint,
        access_token: None,
        now: state.issuer.clock().now(),
    };
    check(proof, &expect).map(Some).map_err(bad)
}
