//! `/staff`: the support console. Find a client by id, or accounts and
//! projects by name, across every tenant; revoke a client with a reason.

use leptos::prelude::*;
use leptos_meta::Title;

use super::form::FormError;
use super::widgets::{StatusBadge, When};
use crate::auth::LogOut;
use crate::support::{
    staff_audit, staff_find, staff_me, staff_search, FoundClientInfo, FoundProjectInfo, StaffRevoke,
};

#[component]
pub fn StaffPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| staff_me());
    let logout = ServerAction::<LogOut>::new();
    let query = RwSignal::new(String::new());
    let submitted = RwSignal::new(None::<String>);
    let version = RwSignal::new(0u32);
    let results = Resource::new(
        move || (submitted.get(), version.get()),
        |(q, _)| async move {
            match q {
                Some(q) => Some((staff_find(q.clone()).await, staff_search(q).await)),
                None => None,
            }
        },
    );
    let search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submitted.set(Some(query.get_untracked()));
    };
    view! {
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
                <ActionForm action=logout>
                    <button type="submit" class="menu-button" data-test-id="logout">"Log out"</button>
                </ActionForm>
            </header>
            <main id="main" class="content staff-content">
                <header class="page-header">
                    <h1 data-test-id="page-title">"Support"</h1>
                    <p class="lede">"Find any client across accounts. You see metadata only: never secrets or token contents."</p>
                </header>
                <section class="card">
                    <form class="inline-form" on:submit=search data-test-id="staff-search">
                        <div class="field">
                            <label for="staff-query">"Client id, or account or project name"</label>
                            <input id="staff-query" type="text" minlength="2" maxlength="100" required
                                on:input=move |ev| query.set(event_target_value(&ev)) data-test-id="staff-query" />
                        </div>
                        <button type="submit" class="button primary" data-test-id="staff-search-submit">"Search"</button>
                    </form>
                </section>
                <Transition fallback=|| ()>
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
                                    {list.into_iter().map(|c| view! { <FoundCard c version /> }).collect_view()}
                                </div>
                            }.into_any(),
                        }
                    })}
                </Transition>
            </main>
        </div>
    }
}

#[component]
fn FoundCard(c: FoundClientInfo, version: RwSignal<u32>) -> impl IntoView {
    let revoke = ServerAction::<StaffRevoke>::new();
    let error = Signal::derive(move || revoke.value().get().and_then(Result::err));
    let reason = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(())) = revoke.value().get() {
            version.update(|v| *v += 1);
        }
    });
    let active = c.status == "active";
    let id = c.client_id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        revoke.dispatch(StaffRevoke {
            client_id: id.clone(),
            reason: reason.get_untracked(),
        });
    };
    view! {
        <article class="client" data-test-id="found-client" data-client-id=c.client_id.clone()>
            <header class="client-head">
                <h3>{c.client_name.clone()}</h3>
                <StatusBadge status=c.status.clone() />
            </header>
            {c.disabled_reason.clone().map(|r| view! { <p class="notice bad">{r}</p> })}
            <dl class="details">
                <dt>"Client id"</dt><dd><code>{c.client_id.clone()}</code></dd>
                <dt>"Account"</dt><dd>{c.account_name.clone()}" "<code class="muted">{c.account_id.clone()}</code></dd>
                <dt>"Project"</dt><dd>{c.project_name.clone()}</dd>
                <dt>"Scopes"</dt><dd class="chips">{c.scopes.iter().map(|s| view! { <code class="chip">{s.clone()}</code> }).collect_view()}</dd>
                <dt>"Created"</dt><dd><When at=Some(c.created_at) /></dd>
                <dt>"Last used"</dt><dd><When at=c.last_used_at /></dd>
            </dl>
            <AccountLog account_id=c.account_id.clone() />
            {active.then(|| view! {
                <form class="panel" on:submit=submit data-test-id="revoke-form">
                    <FormError error />
                    <div class="field">
                        <label for=format!("reason-{}", c.client_id)>"Reason (the account's owners see it)"</label>
                        <textarea id=format!("reason-{}", c.client_id) rows="2" maxlength="300" required
                            on:input=move |ev| reason.set(event_target_value(&ev)) data-test-id="revoke-reason"></textarea>
                    </div>
                    <button type="submit" class="button danger" data-test-id="revoke" disabled=move || revoke.pending().get()>
                        "Revoke client now"</button>
                </form>
            })}
        </article>
    }
    .into_any()
}

/// An account's audit log, opened on demand, a page at a time.
#[component]
fn AccountLog(account_id: String) -> impl IntoView {
    let open = RwSignal::new(false);
    let before = RwSignal::new(String::new());
    let page = Resource::new(
        move || (open.get(), before.get()),
        move |(open, before)| {
            let account_id = account_id.clone();
            async move {
                if open {
                    Some(staff_audit(account_id, before).await)
                } else {
                    None
                }
            }
        },
    );
    view! {
        <div class="actions">
            <button type="button" class="button small" data-test-id="open-account-log"
                on:click=move |_| open.update(|o| *o = !*o)>
                {move || if open.get() { "Hide the account's audit log" } else { "Show the account's audit log" }}
            </button>
        </div>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match page.await {
                    None => ().into_any(),
                    Some(Err(e)) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    Some(Ok(p)) => {
                        let next = p.next.clone();
                        view! {
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
                                <button type="button" class="button small" on:click=move |_| before.set(n.clone())>"Older entries"</button>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn ProjectsTable(projects: Vec<FoundProjectInfo>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Accounts and projects"</h2>
            <table class="table" data-test-id="found-projects">
                <thead><tr><th scope="col">"Account"</th><th scope="col">"Project"</th><th scope="col">"Clients"</th></tr></thead>
                <tbody>
                    {projects.into_iter().map(|p| view! {
                        <tr>
                            <td>{p.account_name}" "<code class="muted">{p.account_id}</code></td>
                            <td>{p.project_name.unwrap_or_else(|| "(no projects)".into())}
                                {p.archived.then(|| view! { " " <span class="badge muted">"Archived"</span> })}</td>
                            <td>{p.clients}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}
