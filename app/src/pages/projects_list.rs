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
use crate::projects::{
    list_projects, ApiInfo, CreateProject, EndingInfo, ProjectsOverview, SetAccountDormancy,
};

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
        ending_this_week,
        account_dormancy,
        is_owner,
    } = o;
    // Each project's soonest end this week, for its badge.
    let soonest = |project_id: &str| {
        ending_this_week
            .iter()
            .find(|e| e.project_id == project_id)
            .map(|e| e.when.clone())
    };
    let badges: Vec<Option<String>> = projects.iter().map(|p| soonest(&p.id)).collect();
    let ending = (!ending_this_week.is_empty())
        .then(|| view! { <EndingThisWeek list=ending_this_week.clone() /> });
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
                            .zip(badges)
                            .map(|(p, badge)| {
                                view! {
                                    <tr class:archived=p.archived_at.is_some()>
                                        <td data-label="Project">
                                            <A href=format!("/projects/{}", p.id)>{p.name.clone()}</A>
                                            {p.archived_at.map(|_| view! { " " <span class="badge muted">"Archived"</span> })}
                                            {badge.map(|b| view! { " " <span class="badge warn" data-test-id="project-ending">{format!("A client: {}", b.to_lowercase())}</span> })}
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
        {ending}
        {table}
        {is_owner.then(|| view! { <AccountDormancy days=account_dormancy /> })}
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

/// What expires or is retired this week, across the account's projects.
#[component]
fn EndingThisWeek(list: Vec<EndingInfo>) -> impl IntoView {
    view! {
        <section class="card" data-test-id="ending-this-week">
            <h2>"Ending this week"</h2>
            <ul class="plain">
                {list.into_iter().map(|e| view! {
                    <li data-test-id="ending-client">
                        <A href=format!("/projects/{}", e.project_id)>{e.project_name}</A>
                        ": " <strong>{e.client_name}</strong> " " <span class="badge warn">{e.when}</span>
                        " (" <When at=Some(e.at) /> ")"
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}

/// The account-wide rule for unused clients (owners). A plain form: the
/// server answers with a redirect back here, no island needed.
#[component]
fn AccountDormancy(days: Option<i64>) -> impl IntoView {
    view! {
        <section class="card" data-test-id="account-dormancy">
            <h2>"Unused clients"</h2>
            <p class="hint">
                "Retire clients nobody has used for a while. Seven days before, owners get a client.dormant webhook and the client's card says when; using the client cancels it. A project can choose otherwise on its own page."
            </p>
            <form method="post" action=SetAccountDormancy::url()>
                <label for="account-dormancy">"Retire clients unused for"</label>
                <DormancySelect id="account-dormancy" days follows=None />
                <button type="submit" class="button small" data-test-id="account-dormancy-save">"Save"</button>
            </form>
        </section>
    }
}

/// The choices: never, 30, 60 or 90 days; for a project also "as the
/// account" (`follows`: what the account's setting is).
#[component]
pub(crate) fn DormancySelect(
    id: &'static str,
    days: Option<i64>,
    follows: Option<Option<i64>>,
) -> impl IntoView {
    let never = if follows.is_some() { "0" } else { "" };
    let describe = |d: Option<i64>| match d {
        None | Some(0) => "never".to_owned(),
        Some(d) => format!("{d} days"),
    };
    let mut options: Vec<(String, String, bool)> = Vec::new();
    if let Some(account) = follows {
        options.push((
            String::new(),
            format!("As the account ({})", describe(account)),
            days.is_none(),
        ));
    }
    options.push((
        never.to_owned(),
        "Never".to_owned(),
        days == Some(0) || (follows.is_none() && days.is_none()),
    ));
    for d in portcullis_choices() {
        options.push((d.to_string(), format!("{d} days"), days == Some(d)));
    }
    view! {
        <select id=id name="dormant_after_days" data-test-id=id>
            {options.into_iter().map(|(value, label, selected)| view! {
                <option value=value selected=selected>{label}</option>
            }).collect_view()}
        </select>
    }
}

/// 30, 60 and 90 days (the server checks the same list).
fn portcullis_choices() -> [i64; 3] {
    [30, 60, 90]
}
