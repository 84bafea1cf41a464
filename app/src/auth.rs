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
pub const PUBLIC_PAGES: [&str; 2] = ["/login", "/signup"];

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
        let session = ssr::session().await?;
        let client_ip = ssr::client_ip(&state).await;
        let principal = state
            .accounts
            .sign_up(SignUp {
                account_name,
                email,
                password: Password::new(password.into_inner()),
                client_ip,
            })
            .await?;
        ssr::start_session(&session, &principal, state.accounts.clock().now()).await?;
        leptos_axum::redirect(HOME);
        Ok(())
    })
    .await
}

#[server(endpoint = "login")]
pub async fn log_in(
    #[server(default)] email: String,
    #[server(default)] password: crate::redacted::Redacted,
    #[server(default)] next: String,
) -> Result<(), ConsoleError> {
    use crate::ssr;
    use portcullis_core::Password;

    ssr::respond(async move {
        let state = ssr::state()?;
        let session = ssr::session().await?;
        let ip = ssr::client_ip(&state).await;
        let signed_in = state
            .accounts
            .log_in(&email, &Password::new(password.into_inner()), ip)
            .await?;
        let now = state.accounts.clock().now();
        match signed_in {
            portcullis_core::SignedIn::Member(principal) => {
                ssr::start_session(&session, &principal, now).await?;
                leptos_axum::redirect(safe_next(&next));
            }
            portcullis_core::SignedIn::Staff(staff) => {
                ssr::start_staff_session(&session, &staff, now).await?;
                leptos_axum::redirect(STAFF_HOME);
            }
        }
        Ok(())
    })
    .await
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
        let (_, p) = ssr::require_principal().await?;
        Ok(CurrentUser {
            email: p.email,
            account_id: p.account_id,
            account_name: p.account_name,
            role: p.role.as_str().into(),
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
