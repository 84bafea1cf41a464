//! `/projects/:id`: one project, its clients (create, narrow, mint a test
//! token, rotate, retire), its rate limit, how to connect, and its settings.
//!
//! The page is rendered on the server. The clients section is one island
//! (it keeps a secret shown once on screen while the list refreshes); the
//! rate-limit and settings forms are small islands that reload the page.

mod client_card;
mod clients;
mod dormancy;
mod keys_only;
mod panels;
mod quota;
mod rate_limit;
mod settings;
mod workload;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::widgets::When;
use crate::error::ConsoleError;
use crate::format;
use crate::pages::boundary::erased_on_server;
use crate::projects::{get_project, ApiInfo, ProjectDetail, ProjectInfo};

#[component]
pub fn ProjectPage() -> impl IntoView {
    let id = use_params_map()
        .read_untracked()
        .get("id")
        .unwrap_or_default();
    let detail = Resource::new(|| (), move |_| get_project(id.clone()));
    erased_on_server(view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => view! { <Detail d /> }.into_any(),
                    Err(ConsoleError::NotFound) => view! { <NotFound /> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    })
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <Title text="Project not found" />
        <section class="empty-state" data-test-id="project-not-found">
            <h1>"Project not found"</h1>
            <p>"It does not exist, or it belongs to another account."</p>
            <A href="/projects">"Back to projects"</A>
        </section>
    }
}

#[component]
fn Detail(d: ProjectDetail) -> impl IntoView {
    let ProjectDetail {
        project,
        api,
        clients,
        can_manage,
        token_endpoint,
        traffic,
        now,
        account_dormancy,
        tokens_today,
    } = d;
    let live = project.archived_at.is_none() && can_manage;
    let example_scope = clients
        .iter()
        .find(|c| c.status == crate::projects::ClientStatus::Active)
        .and_then(|c| c.scopes.first().cloned())
        .unwrap_or_else(|| "<scope>".into());
    view! {
        <Header project=project.clone() api_description=api.description.clone() />
        <clients::ClientsSection
            project_id=project.id.clone()
            clients
            groups=api.groups.clone()
            can_manage=live
            now
            audience=token_endpoint.strip_suffix("/oauth/token").unwrap_or(&token_endpoint).to_owned()
            keys_only=project.keys_only
        />
        <rate_limit::RateLimitCard
            id=project.id.clone()
            per_sec=project.rate_per_sec
            burst=project.rate_burst
            traffic
            editable=live
        />
        <Connect project=project.clone() api token_endpoint example_scope />
        {live.then(|| view! {
            <keys_only::KeysOnlyCard id=project.id.clone() keys_only=project.keys_only
                secret_clients=project.secret_clients />
        })}
        <quota::QuotaCard id=project.id.clone() quota=project.daily_token_quota tokens_today
            editable=live />
        <dormancy::DormancyCard id=project.id.clone() days=project.dormant_after_days
            account=account_dormancy editable=live />
        {live.then(|| view! {
            <settings::SettingsCard id=project.id.clone() name=project.name.clone()
                description=project.description.clone() ttl=project.token_ttl_secs />
        })}
    }
    .into_any()
}

#[component]
fn Header(project: ProjectInfo, api_description: String) -> impl IntoView {
    let lede = if project.description.is_empty() {
        api_description
    } else {
        project.description.clone()
    };
    view! {
        <Title text=project.name.clone() />
        <nav class="breadcrumb" aria-label="Breadcrumb"><A href="/projects">"Projects"</A>" / "</nav>
        <header class="page-header">
            <h1 data-test-id="page-title">
                {project.name.clone()}
                {project.archived_at.is_some().then(|| view! { " " <span class="badge muted">"Archived"</span> })}
                {project.keys_only.then(|| view! { " " <span class="badge" data-test-id="keys-only-badge">"Keys only"</span> })}
            </h1>
            <p class="lede">{lede}</p>
        </header>
        {project.archived_at.map(|at| view! {
            <p class="notice" role="status">"Archived on " <When at=Some(at) />
                ". Its clients get no tokens and its tokens are no longer accepted."</p>
        })}
    }
    .into_any()
}

/// How a partner's code gets a token for this project.
#[component]
fn Connect(
    project: ProjectInfo,
    api: ApiInfo,
    token_endpoint: String,
    example_scope: String,
) -> impl IntoView {
    let curl = format!(
        "curl -u \"$CLIENT_ID:$CLIENT_SECRET\" \\\n  -d grant_type=client_credentials \\\n  -d scope=\"{example_scope}\" \\\n  {token_endpoint}"
    );
    view! {
        <section class="card">
            <h2>"Connect"</h2>
            <dl class="details">
                <dt>"API"</dt><dd>{api.name}</dd>
                <dt>"Token endpoint"</dt><dd><code data-test-id="token-endpoint">{token_endpoint.clone()}</code></dd>
                <dt>"Audience (aud)"</dt><dd><code>{api.audience}</code></dd>
                <dt>"Signing"</dt><dd>{api.signing_alg}", keys at "<code>"/.well-known/jwks.json"</code></dd>
                <dt>"Token lifetime"</dt><dd>{format::duration(project.token_ttl_secs)}</dd>
                <dt>"Project id"</dt><dd><code>{project.id}</code></dd>
            </dl>
            <p class="hint">"Name the scopes each token needs in the scope parameter; a request without it is refused."</p>
            <pre class="code">{curl}</pre>
        </section>
    }
    .into_any()
}
