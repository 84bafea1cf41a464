//! The Portcullis console: pages rendered on the server, and the islands
//! (`#[island]` components, the interactive parts) hydrated in the browser,
//! with the server functions they call.
//!
//! Islands keep the browser bundle to what is interactive: routing, data
//! loading and every static part of a page stay on the server, so a page is
//! complete HTML before any script runs.

pub mod audit;
pub mod auth;
pub mod error;
pub mod format;
pub mod gate_credentials;
pub mod live;
pub mod pages;
pub mod projects;
pub mod reach;
pub mod redacted;
pub mod security;
pub mod staff;
pub mod team;
pub mod urlencode;
pub mod webhooks;

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// Leptos starts hydrating islands from `requestIdleCallback` with no
/// deadline: a browser that never finds the page idle (seen in headless
/// Chromium, about one page load in a few hundred) never makes the page
/// interactive. This gives every idle callback a 1 s deadline. Runs before
/// the island script; has no `<`, `>` or `&`, so it is safe as inline HTML.
const IDLE_DEADLINE: &str = "(function(){var r=window.requestIdleCallback;if(r){window.requestIdleCallback=function(c,o){return r.call(window,c,Object.assign({timeout:1000},o||{}))}}})()";

/// The module that loads lazy islands' files, as tools/wasm-bundle names it
/// (its `LINK_NAME`).
const SPLIT_LOADER: &str = "__wasm_split.______________________.js";

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <script nonce=leptos::nonce::use_nonce() inner_html=IDLE_DEADLINE></script>
                <HydrationScripts options islands=true />
                // The glue imports the lazy-island loader: fetch it beside
                // the glue, not after it.
                <link rel="modulepreload" href=format!("/pkg/{SPLIT_LOADER}") />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The `<body>` attribute set once the page's islands are hydrated: a
/// readiness signal for people's tools and for the browser tests.
pub const HYDRATED_MARK: &str = "data-hydrated";

/// Every island calls this first, with its own name. In the browser the
/// page gets [`HYDRATED_MARK`] once each of its islands has hydrated: a
/// lazy island (`#[island(lazy)]`) hydrates only after its own wasm has
/// arrived, so no fixed moment after the main bundle's start is late
/// enough. On the server a lazy island's files are named in the page for
/// preloading. A test in this crate checks that every island makes the
/// call with its name.
pub fn island_hydrated(component: &'static str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = component;
        hydration_mark::island_ran();
    }
    #[cfg(feature = "ssr")]
    ssr::lazy_islands::preload(component);
}

#[cfg(feature = "hydrate")]
mod hydration_mark {
    use leptos::prelude::{document, set_timeout};
    use std::cell::Cell;
    use std::time::Duration;

    thread_local! {
        static EXPECTED: Cell<u32> = const { Cell::new(0) };
        static DONE: Cell<u32> = const { Cell::new(0) };
    }

    /// Before any island runs: how many the page has.
    pub fn start() {
        let islands = document()
            .get_elements_by_tag_name("leptos-island")
            .length();
        EXPECTED.set(islands);
        if islands == 0 {
            mark();
        }
    }

    /// An island's component ran; its view hydrates right after, in the
    /// same task, so the count moves in the next one.
    pub fn island_ran() {
        set_timeout(
            || {
                let done = DONE.get() + 1;
                DONE.set(done);
                // `>=`: an island drawn inside another runs twice.
                if done >= EXPECTED.get() {
                    mark();
                }
            },
            Duration::ZERO,
        );
    }

    fn mark() {
        if let Some(body) = document().body() {
            let _ = body.set_attribute(super::HYDRATED_MARK, "true");
        }
    }
}

/// Hydrates every island on the page; [`island_hydrated`] sets
/// [`HYDRATED_MARK`] when the last one is done.
#[cfg(feature = "hydrate")]
pub fn hydrate_islands() {
    // A server function that answers with a redirect sends the browser
    // there (log-in, sign-up, join, new project): there is no client router.
    let _ = server_fn::redirect::set_redirect_hook(|to: &str| {
        let _ = window().location().set_href(to);
    });
    hydration_mark::start();
    leptos::mount::hydrate_islands();
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Every page waits for its data on the server and is sent whole: no
    // streamed fragments to patch in, and nothing to hydrate but islands.
    view! {
        <Stylesheet id="leptos" href="/pkg/portcullis.css" />
        // No favicon request: the console has no icon yet.
        <Link rel="icon" href="data:," />
        <Title formatter=|page: String| format!("{page} · Portcullis") />
        <Router>
            <Routes fallback=|| view! { <pages::NotFound /> }>
                <Route path=path!("/login") view=pages::LoginPage ssr=SsrMode::Async />
                <Route path=path!("/login/code") view=pages::CodePage ssr=SsrMode::Async />
                <Route path=path!("/signup") view=pages::SignupPage ssr=SsrMode::Async />
                <Route path=path!("/reset") view=pages::ResetPage ssr=SsrMode::Async />
                <Route path=path!("/staff/security") view=pages::StaffSecurityPage ssr=SsrMode::Async />
                <Route path=path!("/join") view=pages::JoinPage ssr=SsrMode::Async />
                <Route path=path!("/staff") view=pages::StaffPage ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=pages::ConsoleLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=pages::Home ssr=SsrMode::Async />
                    <Route path=path!("projects") view=pages::ProjectsPage ssr=SsrMode::Async />
                    <Route path=path!("projects/:id") view=pages::ProjectPage ssr=SsrMode::Async />
                    <Route path=path!("audit") view=pages::AuditPage ssr=SsrMode::Async />
                    <Route path=path!("team") view=pages::TeamPage ssr=SsrMode::Async />
                    <Route path=path!("webhooks") view=pages::WebhooksPage ssr=SsrMode::Async />
                    <Route path=path!("settings") view=pages::SettingsPage ssr=SsrMode::Async />
                    <Route path=path!("security") view=pages::SecurityPage ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
