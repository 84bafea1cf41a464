//! The role table at the console's edge: a server function (`/api/<name>`)
//! runs only for whom [`portcullis_core::access::table`] lets call it, and a
//! function missing from the table answers 404, so a new one is unreachable
//! until it is listed. The caller found here rides on the request, so the
//! function reads its session once.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use portcullis_core::access::table::{self, Caller};
use tower_sessions::Session;

use app::error::ConsoleError;
use app::ssr::{
    current_principal, current_quietly, current_staff, pending_log_in, AppState, Resolved,
};

/// A console refusal as a server function answers it (status and JSON):
/// for the edge, and for the console paths that are not server functions.
pub(crate) fn refuse(e: ConsoleError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = app::error::to_json(&e);
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

pub async fn guard(
    State(state): State<AppState>,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(name) = req.uri().path().strip_prefix("/api/") else {
        return next.run(req).await;
    };
    let Some(allow) = table::console(name) else {
        return refuse(ConsoleError::NotFound);
    };
    let resolved = match resolve(&session, &state, !table::is_quiet(name)).await {
        Ok(r) => r,
        Err(e) => return refuse(e),
    };
    let caller = match (&resolved.staff, &resolved.principal) {
        (Some(s), _) => Caller::Staff(s),
        (None, Some(p)) => Caller::Member(p),
        (None, None) => Caller::Visitor {
            pending_log_in: resolved.pending_log_in,
        },
    };
    if let Err(e) = allow.check(caller) {
        tracing::info!(function = name, "refused by the role table");
        return refuse(e.into());
    }
    req.extensions_mut().insert(resolved);
    next.run(req).await
}

/// Who the session is: staff, a member, or a visitor (perhaps halfway
/// through a log-in). `activity`: whether this request renews the idle
/// timer (a live stream's does not).
async fn resolve(
    session: &Session,
    state: &AppState,
    activity: bool,
) -> Result<Resolved, ConsoleError> {
    if !activity {
        let (staff, principal) = current_quietly(session, state).await?;
        return Ok(Resolved {
            staff,
            principal,
            pending_log_in: false,
        });
    }
    if let Some(staff) = current_staff(session, state).await? {
        return Ok(Resolved {
            staff: Some(staff),
            principal: None,
            pending_log_in: false,
        });
    }
    let principal = current_principal(session, state).await?;
    let pending_log_in = principal.is_none() && pending_log_in(session).await?.is_some();
    Ok(Resolved {
        staff: None,
        principal,
        pending_log_in,
    })
}
