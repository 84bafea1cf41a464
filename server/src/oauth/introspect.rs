//! `POST /oauth/introspect` (RFC 7662), for resource servers that
//! authenticate as a client of the same project (gates use /gate/v1/introspect).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use super::client_auth::Charged;
use super::error::{no_store, OAuthError};
use super::OAuthState;

#[derive(Serialize)]
struct Active<'a> {
    active: bool,
    token_type: &'static str,
    #[serde(flatten)]
    claims: &'a portcullis_core::issuer::Claims,
}

pub async fn introspect(State(state): State<Arc<OAuthState>>, caller: Charged) -> Response {
    match answer(&state, caller) {
        Ok(res) => no_store(res),
        Err(e) => e.into_response(),
    }
}

fn answer(state: &OAuthState, caller: Charged) -> Result<Response, OAuthError> {
    let Charged {
        params,
        client: caller,
        ..
    } = caller;
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
