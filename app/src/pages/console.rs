//! The signed-in frame: top bar with the account and user menu, side
//! navigation, and the page in the middle.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::hooks::use_location;
use server_fn::ServerFn;

use super::boundary::erased_on_server;
use super::form::submit_to;
use crate::auth::{self, CurrentUser, LogOut};
use crate::error::ConsoleError;
use crate::urlencode;

/// The signed-in user, fetched once per console visit and shared by pages.
pub type MeResource = Resource<Result<CurrentUser, ConsoleError>>;

#[component]
pub fn ConsoleLayout() -> impl IntoView {
    let me: MeResource = Resource::new(|| (), |_| auth::me());
    provide_context(me);
    let location = use_location();
    let login_redirect = move || {
        let here = format!(
            "{}{}",
            location.pathname.get_untracked(),
            location.search.get_untracked()
        );
        format!("/login?next={}", urlencode::query_value(&here))
    };

    erased_on_server(view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <div class="console">
            <header class="topbar">
                <A href="/projects" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true"></span>
                    "Portcullis"
                </A>
                <Suspense fallback=|| view! { <span class="topbar-loading">"Loading…"</span> }>
                    {move || Suspend::new(async move {
                        match me.await {
                            Ok(me) => view! { <AccountBar me /> }.into_any(),
                            Err(ConsoleError::Unauthenticated) => {
                                view! { <Redirect path=login_redirect() /> }.into_any()
                            }
                            Err(e) => {
                                view! {
                                    <span class="topbar-error" role="alert">
                                        {e.to_string()}
                                    </span>
                                }
                                    .into_any()
                            }
                        }
                    })}
                </Suspense>
            </header>
            <nav class="sidenav" aria-label="Console">
                <A href="/projects">"Projects"</A>
                <A href="/audit">"Audit log"</A>
                <A href="/team">"Team"</A>
                <A href="/webhooks">"Webhooks"</A>
                <A href="/settings">"Settings"</A>
                <A href="/security">"Security"</A>
            </nav>
            <main id="main" class="content" tabindex="-1">
                <Outlet />
            </main>
        </div>
    })
}

#[component]
fn AccountBar(me: CurrentUser) -> impl IntoView {
    view! {
        <span class="account-name" data-test-id="account-name">
            {me.account_name.clone()}
        </span>
        <details class="user-menu">
            <summary data-test-id="user-menu">
                <span class="avatar" aria-hidden="true">
                    {me.email.chars().next().map(|c| c.to_ascii_uppercase())}
                </span>
                <span class="user-email">{me.email.clone()}</span>
            </summary>
            <div class="menu" role="menu">
                <p class="menu-meta">
                    "Signed in as " <strong>{me.email.clone()}</strong> <br />
                    <span class="role-badge">{me.role.clone()}</span>
                </p>
                <A href="/settings" attr:role="menuitem">
                    "Account settings"
                </A>
                <A href="/security" attr:role="menuitem">
                    "Password and two-factor"
                </A>
                <LogOutButton />
            </div>
        </details>
    }
}

/// Ends the session; the server's answer sends the browser to log-in.
#[island]
pub fn LogOutButton() -> impl IntoView {
    crate::island_hydrated("LogOutButton");
    let logout = ServerAction::<LogOut>::new();
    erased_on_server(view! {
        <form action=LogOut::url() method="post" on:submit=submit_to(logout)>
            <button type="submit" class="menu-button" data-test-id="logout">
                "Log out"
            </button>
        </form>
    })
}

/// `/` goes to the projects list.
#[component]
pub fn Home() -> impl IntoView {
    view! { <Redirect path="/projects" /> }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    erased_on_server(view! {
        <Title text="Not found" />
        <div class="auth-page">
            <main class="auth-card">
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address."</p>
                <A href="/projects" attr:class="button primary">
                    "Go to the console"
                </A>
            </main>
        </div>
    })
}
