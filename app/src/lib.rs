//! The Portcullis console: Leptos pages (rendered on the server, hydrated in
//! the browser) and the server functions they call.

pub mod audit;
pub mod auth;
pub mod error;
pub mod format;
pub mod pages;
pub mod projects;
pub mod support;
pub mod team;
pub mod urlencode;

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, after hydration: a readiness signal
    // for people's tools and for the browser tests (no sleeping).
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/portcullis.css" />
        // No favicon request: the console has no icon yet.
        <Link rel="icon" href="data:," />
        <Title formatter=|page: String| format!("{page} · Portcullis") />
        <Router>
            <Routes fallback=|| view! { <pages::NotFound /> }>
                <Route path=path!("/login") view=pages::LoginPage />
                <Route path=path!("/signup") view=pages::SignupPage />
                <Route path=path!("/join") view=pages::JoinPage />
                <Route path=path!("/staff") view=pages::StaffPage />
                <ParentRoute path=path!("") view=pages::ConsoleLayout>
                    <Route path=path!("") view=pages::Home />
                    <Route path=path!("projects") view=pages::ProjectsPage />
                    <Route path=path!("projects/:id") view=pages::ProjectPage />
                    <Route path=path!("audit") view=pages::AuditPage />
                    <Route path=path!("team") view=pages::TeamPage />
                    <Route path=path!("settings") view=pages::SettingsPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
