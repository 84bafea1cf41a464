//! Sign-up, log-in, log-out and "who am I": the console's session server
//! functions. Each is a thin shell over `portcullis_core::Accounts`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ConsoleError;

/// What the console shows about the signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub email: String,
    pub account_id: String,
    pub account_name: String,
    pub role: String,
}

pub const HOME: &str = "/projects";
/// Where support staff land.
pub const STAFF_HOME: &str = "/staff";

/// The only pages a signed-out visitor may see.
pub const PUBLIC_PAGES: [&str; 3] = ["/login", "/signup", CODE_PAGE];
/// The second step of a log-in, for users with a second factor.
pub const CODE_PAGE: &str = "/login/code";
/// Where signed-in members and staff manage their password and second factor.
pub const SECURITY_PAGE: &str = "/security";
pub const STAFF_SECURITY_PAGE: &str = "/staff/security";

/// Where to go after log-in: a local path only, never another site.
pub fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\');
    let is_auth_page = PUBLIC_PAGES
        .iter()
        .any(|p| next == *p || next.starts_with(&format!("{p}?")));
    if local && !is_auth_page {
        next
    } else {
        HOME
    }
}

/// Creates the account; the person then logs in. The answer is the same
/// whether or not the email already had a sign-in (see `Accounts::sign_up`).
#[server(endpoint = "signup")]
pub async fn sign_up(
    // Missing fields arrive empty and get the domain's field-level message.
    #[server(default)] account_name: String,
    #[server(default)] email: String,
    #[server(default)] password: crate::redacted::Redacted,
) -> Result<(), ConsoleError> {
    use crate::ssr;
    use portcullis_core::{Password, SignUp};

    ssr::respond(async move {
        let state = ssr::state()?;
        let client_ip = ssr::client_ip(&state).await;
        state
            .accounts
            .sign_up(SignUp {
                account_name,
                email,
                password: Password::new(password.into_inner()),
                client_ip,
            })
            .await?;
        leptos_axum::redirect(SIGNED_UP);
        Ok(())
    })
    .await
}

/// The log-in page after a sign-up, which says what to do next.
pub const SIGNED_UP: &str = "/login?signed_up=1";

#[server(endpoint = "login")]
pub async fn log_in(
    #[server(default)] email: String,
    #[server(default)] password: crate::redacted::Redacted,
    #[server(default)] next: String,
) -> Result<(), ConsoleError> {
    use crate::ssr;
    use portcullis_core::{LogIn as Outcome, Password};

    ssr::respond(async move {
        let state = ssr::state()?;
        let session = ssr::session().await?;
        let ip = ssr::client_ip(&state).await;
        let outcome = state
            .accounts
            .log_in(&email, &Password::new(password.into_inner()), ip)
            .await?;
        match outcome {
            Outcome::Done(signed_in) => finish(&state, &session, signed_in, &next).await,
            Outcome::NeedsCode(pending) => {
                ssr::start_pending_log_in(&session, pending, next).await?;
                leptos_axum::redirect(CODE_PAGE);
                Ok(())
            }
        }
    })
    .await
}

/// The log-in's second step: a code from the app, or a recovery code.
#[server(endpoint = "login_code")]
pub async fn log_in_code(
    #[server(default)] code: crate::redacted::Redacted,
) -> Result<(), ConsoleError> {
    use crate::ssr;

    ssr::respond(async move {
        let state = ssr::state()?;
        let session = ssr::session().await?;
        let (mut pending, next) = ssr::pending_log_in(&session)
            .await?
            .ok_or(ConsoleError::Unauthenticated)?;
        let ip = ssr::client_ip(&state).await;
        let signed_in = match state
            .accounts
            .finish_log_in(&mut pending, code.expose(), ip)
            .await
        {
            // Too many wrong codes, or too late: start again.
            Err(portcullis_core::Error::Unauthenticated) => {
                ssr::clear_pending_log_in(&session).await?;
                return Err(ConsoleError::Unauthenticated);
            }
            // The wrong code counts in the log-in kept in the session.
            Err(e @ portcullis_core::Error::InvalidCode) => {
                ssr::keep_pending_log_in(&session, pending, next).await?;
                return Err(e.into());
            }
            other => other?,
        };
        ssr::clear_pending_log_in(&session).await?;
        finish(&state, &session, signed_in, &next).await
    })
    .await
}

/// Starts the session a completed log-in earned and sends the browser on.
#[cfg(feature = "ssr")]
async fn finish(
    state: &crate::ssr::AppState,
    session: &tower_sessions::Session,
    signed_in: portcullis_core::SignedIn,
    next: &str,
) -> Result<(), ConsoleError> {
    use crate::ssr;
    let now = state.accounts.clock().now();
    match signed_in {
        portcullis_core::SignedIn::Member(principal) => {
            ssr::start_session(session, &principal, now).await?;
            if principal.must_set_up_second_factor() {
                leptos_axum::redirect(SECURITY_PAGE);
            } else {
                leptos_axum::redirect(safe_next(next));
            }
        }
        portcullis_core::SignedIn::Staff(staff) => {
            ssr::start_staff_session(session, &staff, now).await?;
            leptos_axum::redirect(if staff.has_second_factor() {
                STAFF_HOME
            } else {
                STAFF_SECURITY_PAGE
            });
        }
    }
    Ok(())
}

#[server(endpoint = "logout")]
pub async fn log_out() -> Result<(), ConsoleError> {
    use crate::ssr;

    ssr::respond(async move {
        ssr::end_session(&ssr::session().await?).await?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

#[server(endpoint = "me")]
pub async fn me() -> Result<CurrentUser, ConsoleError> {
    use crate::ssr;

    ssr::respond(async move {
        let (_, p) = ssr::require_member_unchecked().await?;
        Ok(CurrentUser {
            email: p.email().to_owned(),
            account_id: p.account_id().to_owned(),
            account_name: p.account_name().to_owned(),
            role: p.role().as_str().into(),
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(safe_next("/settings"), "/settings");
        assert_eq!(safe_next("/team?x=1"), "/team?x=1");
        for bad in [
            "",
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/x\\y",
            "/login",
            "/signup?next=/x",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(bad), HOME, "{bad:?}");
        }
    }
}
