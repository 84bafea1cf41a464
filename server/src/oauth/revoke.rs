//! `POST /oauth/revoke` (RFC 7009): a client revokes one of its own access
//! tokens. The answer is 200 whether or not anything was revoked, so it says
//! nothing about tokens that are not the caller's.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::client_auth::Charged;
use super::error::{no_store, OAuthError};
use super::OAuthState;

pub async fn revoke(State(state): State<Arc<OAuthState>>, caller: Charged) -> Response {
    let result = async {
        let Charged {
            params,
            client: caller,
            via_header,
        } = caller;
        let domain = |e| OAuthError::from_domain(e, via_header);
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
