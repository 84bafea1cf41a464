//! `/staff`: the support console. Find a client by id, or accounts and
//! projects by name, across every tenant; revoke a client with a reason.
//! The search is a plain GET form (`/staff?q=…`), answered on the server.

use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

use super::boundary::erased_on_server;
use super::console::LogOutButton;
use super::cut_off::CutOffReach;
use super::form::{last_error, on_success, submit_to, FormError};
use super::gate_credentials::GateCredentials;
use super::gate_processes::GateConnections;
use super::reload::reload_page;
use super::widgets::{StatusBadge, When};
use crate::audit::AuditPage;
use crate::error::ConsoleError;
use crate::staff::{
    staff_audit, staff_find, staff_me, staff_search, FoundClientInfo, FoundProjectInfo, StaffRevoke,
};

#[component]
pub fn StaffPage() -> impl IntoView {
    let query = use_query_map()
        .read_untracked()
        .get("q")
        .unwrap_or_default();
    let me = Resource::new(|| (), |_| staff_me());
    let q = query.clone();
    let results = Resource::new(
        || (),
        move |_| {
            let q = q.clone();
            async move {
                if q.is_empty() {
                    None
                } else {
                    Some((staff_find(q.clone()).await, staff_search(q).await))
                }
            }
        },
    );
    erased_on_server(view! {
        <Title text="Support" />
        <div class="console staff">
            <header class="topbar">
                <span class="brand"><span class="brand-mark" aria-hidden="true"></span>"Portcullis support"</span>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        me.await.ok().map(|email| view! {
                            <span class="account-name" data-test-id="staff-email">{email}</span>
                        })
                    })}
                </Suspense>
                <a class="menu-button" href=crate::auth::STAFF_SECURITY_PAGE data-test-id="staff-security">"Security"</a>
                <LogOutButton />
            </header>
            <main id="main" class="content staff-content">
                <header class="page-header">
                    <h1 data-test-id="page-title">"Support"</h1>
                    <p class="lede">"Find any client across accounts. You see metadata only: never secrets or token contents."</p>
                </header>
                <section class="card">
                    <form class="inline-form" method="get" action="/staff" data-test-id="staff-search">
                        <div class="field">
                            <label for="staff-query">"Client id, or account or project name"</label>
                            <input id="staff-query" name="q" type="text" minlength="2" maxlength="100" required
                                value=query data-test-id="staff-query" />
                        </div>
                        <button type="submit" class="button primary" data-test-id="staff-search-submit">"Search"</button>
                    </form>
                </section>
                <GateCredentials />
                <GateConnections />
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match results.await {
                            None => ().into_any(),
                            Some((_, Err(e))) | Some((Err(e), _)) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                            Some((Ok(projects), Ok(list))) => view! {
                                {(!projects.is_empty()).then(|| view! { <ProjectsTable projects /> })}
                                {list.is_empty().then(|| view! {
                                    <p class="muted" data-test-id="staff-none">"No clients match."</p>
                                })}
                                <div class="clients">
                                    {list.into_iter().map(|c| view! { <FoundCard c /> }).collect_view()}
                                </div>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </main>
        </div>
    })
}

#[component]
fn FoundCard(c: FoundClientInfo) -> impl IntoView {
    let active = c.status == crate::projects::ClientStatus::Active;
    view! {
        <article class="client" data-test-id="found-client" data-client-id=c.client_id.clone()>
            <header class="client-head">
                <h3>{c.client_name.clone()}</h3>
                <StatusBadge status=c.status />
            </header>
            {c.disabled_reason.clone().map(|r| view! { <p class="notice bad">{r}</p> })}
            {c.cut_off.clone().map(|c| view! { <CutOffReach c /> })}
            <dl class="details">
                <dt>"Client id"</dt><dd><code>{c.client_id.clone()}</code></dd>
                <dt>"Account"</dt><dd>{c.account_name.clone()}" "<code class="muted">{c.account_id.clone()}</code></dd>
                <dt>"Project"</dt><dd>{c.project_name.clone()}</dd>
                <dt>"Scopes"</dt><dd class="chips">{c.scopes.iter().map(|s| view! { <code class="chip">{s.clone()}</code> }).collect_view()}</dd>
                <dt>"Created"</dt><dd><When at=Some(c.created_at) /></dd>
                <dt>"Last used"</dt><dd><When at=c.last_used_at /></dd>
            </dl>
            <AccountLog account_id=c.account_id.clone() />
            {active.then(|| view! { <RevokeForm client_id=c.client_id.clone() /> })}
        </article>
    }
    .into_any()
}

/// Revokes the client; the page is then loaded again to show it disabled.
#[island(lazy)]
fn RevokeForm(client_id: String) -> impl IntoView {
    crate::island_hydrated("RevokeForm");
    let revoke = ServerAction::<StaffRevoke>::new();
    let error = last_error(revoke);
    on_success(revoke, |_| reload_page());
    let reason_id = format!("reason-{client_id}");
    erased_on_server(view! {
        <form action=StaffRevoke::url() method="post" on:submit=submit_to(revoke) class="panel" data-test-id="revoke-form">
            <FormError error />
            <input type="hidden" name="client_id" value=client_id />
            <div class="field">
                <label for=reason_id.clone()>"Reason (the account's owners see it)"</label>
                <textarea id=reason_id name="reason" rows="2" maxlength="300" required
                    data-test-id="revoke-reason"></textarea>
            </div>
            <button type="submit" class="button danger" data-test-id="revoke" disabled=move || revoke.pending().get()>
                "Revoke client now"</button>
        </form>
    })
}

/// An account's audit log, opened on demand, a page at a time.
#[island(lazy)]
fn AccountLog(account_id: String) -> impl IntoView {
    crate::island_hydrated("AccountLog");
    let open = RwSignal::new(false);
    // Fetched in the browser only, when opened: nothing here for the server
    // to wait for while it renders the page.
    let page = RwSignal::new(None::<Result<AuditPage, ConsoleError>>);
    let account_id = StoredValue::new(account_id);
    let load = move |before: String| {
        spawn_local(async move {
            page.set(Some(staff_audit(account_id.get_value(), before).await));
        });
    };
    let toggle = move |_| {
        open.update(|o| *o = !*o);
        if open.get_untracked() && page.with_untracked(Option::is_none) {
            load(String::new());
        }
    };
    erased_on_server(view! {
        <div class="actions">
            <button type="button" class="button small" data-test-id="open-account-log"
                on:click=toggle>
                {move || if open.get() { "Hide the account's audit log" } else { "Show the account's audit log" }}
            </button>
        </div>
        {move || {
                match page.get().filter(|_| open.get()) {
                    None => EitherOf3::A(()),
                    Some(Err(e)) => EitherOf3::B(view! { <p class="form-error" role="alert">{e.to_string()}</p> }),
                    Some(Ok(p)) => {
                        let next = p.next.clone();
                        EitherOf3::C(view! {
                            <table class="table" data-test-id="account-log">
                                <tbody>
                                    {p.entries.into_iter().map(|e| view! {
                                        <tr>
                                            <td><When at=Some(e.at) /></td>
                                            <td>{e.actor_label}</td>
                                            <td><code>{e.action}</code></td>
                                            <td>{e.detail}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {next.map(|n| view! {
                                <button type="button" class="button small" on:click=move |_| load(n.clone())>"Older entries"</button>
                            })}
                        })
                    }
                }
            }}
    })
}

#[component]
fn ProjectsTable(projects: Vec<FoundProjectInfo>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Accounts and projects"</h2>
            <table class="table stack" data-test-id="found-projects">
                <thead><tr><th scope="col">"Account"</th><th scope="col">"Project"</th><th scope="col">"Clients"</th></tr></thead>
                <tbody>
                    {projects.into_iter().map(|p| view! {
                        <tr>
                            <td data-label="Account">{p.account_name}" "<code class="muted">{p.account_id}</code></td>
                            <td data-label="Project">{p.project_name.unwrap_or_else(|| "(no projects)".into())}
                                {p.archived.then(|| view! { " " <span class="badge muted">"Archived"</span> })}</td>
                            <td data-label="Clients">{p.clients}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}
