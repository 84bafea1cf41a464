//! `/projects`: every project of the account, and the form for a new one.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use server_fn::ServerFn;

use super::boundary::erased_on_server;
use super::form::{last_error, submit_to, FormError};
use super::widgets::When;
use crate::error::ConsoleError;
use crate::format;
use crate::projects::{list_projects, ApiInfo, CreateProject, ProjectsOverview};

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| list_projects());
    erased_on_server(view! {
        <Title text="Projects" />
        <header class="page-header">
            <h1 data-test-id="page-title">"Projects"</h1>
            <p class="lede">
                "One project per integration: each has its own OAuth client, scopes and token lifetime."
            </p>
        </header>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! { <Overview o /> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    })
}

#[component]
fn Overview(o: ProjectsOverview) -> impl IntoView {
    let ProjectsOverview {
        projects,
        apis,
        can_manage,
        token_ttl_default,
    } = o;
    let empty = projects.is_empty();
    // Which clients still hold secrets, so an owner can plan the move to
    // keys (and keys-only projects).
    let live = projects.iter().filter(|p| p.archived_at.is_none());
    let (secrets, holding) = live.fold((0, 0), |(n, m), p| {
        (n + p.secret_clients, m + i64::from(p.secret_clients > 0))
    });
    let secrets_notice = (secrets > 0).then(|| view! {
        <p class="notice" role="status" data-test-id="secret-holders">{format!(
            "{secrets} live client{} in {holding} project{} still hold{} a secret. Clients with a public key or a workload identity hold nothing that can leak; a keys-only project allows no secrets at all.",
            if secrets == 1 { "" } else { "s" },
            if holding == 1 { "" } else { "s" },
            if secrets == 1 { "s" } else { "" },
        )}</p>
    });
    let table = (!empty).then(|| {
        view! {
            <section class="card">
                <table class="table stack" data-test-id="projects-table">
                    <thead>
                        <tr>
                            <th scope="col">"Project"</th>
                            <th scope="col">"API"</th>
                            <th scope="col">"Live clients"</th>
                            <th scope="col">"Secrets"</th>
                            <th scope="col">"Token lifetime"</th>
                            <th scope="col">"Created"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {projects
                            .into_iter()
                            .map(|p| {
                                view! {
                                    <tr class:archived=p.archived_at.is_some()>
                                        <td data-label="Project">
                                            <A href=format!("/projects/{}", p.id)>{p.name.clone()}</A>
                                            {p.archived_at.map(|_| view! { " " <span class="badge muted">"Archived"</span> })}
                                        </td>
                                        <td data-label="API">{p.api_name.clone()}</td>
                                        <td data-label="Live clients">{p.live_clients}</td>
                                        <td data-label="Secrets" data-test-id="project-secrets">{match (p.keys_only, p.secret_clients) {
                                            (true, _) => "Keys only".to_string(),
                                            (false, 0) => "None".to_string(),
                                            (false, 1) => "1 client holds one".to_string(),
                                            (false, n) => format!("{n} clients hold one"),
                                        }}</td>
                                        <td data-label="Token lifetime">{format::duration(p.token_ttl_secs)}</td>
                                        <td data-label="Created"><When at=Some(p.created_at) /></td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </section>
        }
    });
    view! {
        {empty.then(|| view! {
            <section class="empty-state" data-test-id="no-projects">
                <h2>"No projects yet"</h2>
                <p>"Create a project for each system that calls the API, so each gets its own narrow credential."</p>
            </section>
        })}
        {secrets_notice}
        {table}
        {can_manage.then(|| {
            // The form needs each API's name, not its scope catalogue.
            let apis = apis.into_iter().map(|a| ApiInfo { groups: Vec::new(), ..a }).collect();
            view! { <NewProjectForm apis token_ttl_default /> }
        })}
    }
}

/// The new-project form. The server answers a success with a redirect to
/// the new project's page.
#[island(lazy)]
fn NewProjectForm(apis: Vec<ApiInfo>, token_ttl_default: i64) -> impl IntoView {
    crate::island_hydrated("NewProjectForm");
    let action = ServerAction::<CreateProject>::new();
    let error = last_error(action);
    let invalid = move |field: &'static str| {
        move || {
            error
                .get()
                .filter(|e: &ConsoleError| e.field() == Some(field))
                .map(|_| "true")
        }
    };
    let first = apis.first().map(|a| a.id.clone()).unwrap_or_default();
    erased_on_server(view! {
        <section class="card">
            <h2>"New project"</h2>
            <form action=CreateProject::url() method="post" on:submit=submit_to(action) data-test-id="new-project-form">
                <FormError error />
                <div class="field">
                    <label for="name">"Name"</label>
                    <input id="name" type="text" name="name" required maxlength="80" aria-invalid=invalid("name")
                        placeholder="e.g. Loan intake – production" data-test-id="project-name" />
                </div>
                <div class="field">
                    <label for="description">"Description " <span class="muted">"(optional)"</span></label>
                    <textarea id="description" name="description" rows="2" maxlength="500"
                        aria-invalid=invalid("description")></textarea>
                </div>
                <fieldset class="field">
                    <legend>"API"</legend>
                    <p class="hint">"Tokens of this project are for this API only (their audience). It cannot be changed later."</p>
                    {apis
                        .into_iter()
                        .map(|api| {
                            let id = format!("api-{}", api.id);
                            view! {
                                <div class="radio">
                                    <input type="radio" name="api_id" id=id.clone() value=api.id.clone()
                                        checked=api.id == first data-test-id=id.clone() />
                                    <label for=id>
                                        <strong>{api.name}</strong>
                                        <span class="scope-description">{api.description}</span>
                                    </label>
                                </div>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <div class="field">
                    <label for="token_ttl_secs">"Access-token lifetime (seconds)"</label>
                    <input id="token_ttl_secs" name="token_ttl_secs" type="number" min="300" max="86400"
                        step="1" placeholder=token_ttl_default.to_string() aria-invalid=invalid("token_ttl_secs")
                        aria-describedby="ttl-hint" />
                    <p id="ttl-hint" class="hint">"300 to 86400. Leave empty for one hour. Shorter is safer."</p>
                </div>
                <button type="submit" class="button primary" disabled=move || action.pending().get()
                    data-test-id="create-project">
                    {move || if action.pending().get() { "Creating…" } else { "Create project" }}
                </button>
            </form>
        </section>
    })
}
