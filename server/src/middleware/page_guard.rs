//! Full page loads: signed-out visitors go to log-in (and come back after),
//! signed-in ones skip the log-in and sign-up pages, and whoever owes a
//! second factor (staff without one, members of an account that requires
//! one) is held at their Security page until they set it up.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::{Method, StatusCode};
use tower_sessions::Session;

use app::auth::{CODE_PAGE, HOME, PUBLIC_PAGES, SECURITY_PAGE, STAFF_HOME, STAFF_SECURITY_PAGE};
use app::ssr::{current_principal, current_staff, AppState};
use app::urlencode;

/// Requests that are not console pages: assets, server functions, and the
/// machine-facing endpoints.
fn is_page(path: &str) -> bool {
    let non_page_prefix = ["/pkg/", "/api/", "/oauth/", "/.well-known/"]
        .iter()
        .any(|p| path.starts_with(p));
    let looks_like_file = path
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'));
    !non_page_prefix && !looks_like_file && path != "/healthz"
}

pub async fn guard(
    State(state): State<AppState>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    // The join and reset pages work for anyone holding their link.
    let link_page = path == "/join" || path == "/reset";
    if !matches!(*req.method(), Method::GET | Method::HEAD) || !is_page(path) || link_page {
        return next.run(req).await;
    }
    // Support staff see the staff console and nothing of any account's.
    match current_staff(&session, &state).await {
        Ok(Some(_)) if path == STAFF_SECURITY_PAGE => return next.run(req).await,
        Ok(Some(s)) if !s.has_second_factor() => {
            return Redirect::to(STAFF_SECURITY_PAGE).into_response()
        }
        Ok(Some(_)) if path == STAFF_HOME => return next.run(req).await,
        Ok(Some(_)) => return Redirect::to(STAFF_HOME).into_response(),
        Ok(None) => {}
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
    let principal = match current_principal(&session, &state).await {
        Ok(p) => p,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let signed_in = principal.is_some();
    if signed_in && (path == STAFF_HOME || path == STAFF_SECURITY_PAGE) {
        return Redirect::to(HOME).into_response();
    }
    if principal.is_some_and(|p| p.must_set_up_second_factor()) && path != SECURITY_PAGE {
        return Redirect::to(SECURITY_PAGE).into_response();
    }
    // The code step needs a log-in waiting for it; otherwise start again.
    if path == CODE_PAGE && !signed_in {
        match app::ssr::pending_log_in(&session).await {
            Ok(Some(_)) => return next.run(req).await,
            Ok(None) => return Redirect::to("/login").into_response(),
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
    let public = PUBLIC_PAGES.contains(&path);
    match (signed_in, public) {
        (false, false) if path == "/" => Redirect::to("/login").into_response(),
        (false, false) => {
            let here = req
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str())
                .unwrap_or(path);
            Redirect::to(&format!("/login?next={}", urlencode::query_value(here))).into_response()
        }
        (true, true) => Redirect::to(HOME).into_response(),
        (true, false) if path == "/" => Redirect::to(HOME).into_response(),
        _ => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::is_page;

    #[test]
    fn pages_and_non_pages() {
        for p in ["/", "/projects", "/settings", "/login", "/nope"] {
            assert!(is_page(p), "{p}");
        }
        for p in [
            "/pkg/portcullis.js",
            "/api/login",
            "/oauth/token",
            "/healthz",
            "/robots.txt",
        ] {
            assert!(!is_page(p), "{p}");
        }
    }
}
