//! `/audit`: the account's audit log with filters and paging. Filters live
//! in the address, so a filtered page can be bookmarked or shared.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_query_map;

use super::boundary::erased_on_server;
use super::widgets::When;
use crate::audit::{audit_log, AuditPage as Page};
use crate::urlencode;

const FILTERS: [&str; 5] = ["actor", "action", "project_id", "from", "to"];

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k).unwrap_or_default();
    let page = Resource::new(
        move || {
            (
                get("actor"),
                get("action"),
                get("project_id"),
                get("from"),
                get("to"),
                get("before"),
            )
        },
        |(actor, action, project_id, from, to, before)| {
            audit_log(actor, action, project_id, from, to, before)
        },
    );
    erased_on_server(view! {
        <Title text="Audit log" />
        <header class="page-header">
            <h1 data-test-id="page-title">"Audit log"</h1>
            <p class="lede">"Every change to your account's credentials: who made it, when, and from where. Entries cannot be edited or deleted."</p>
        </header>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => view! { <AuditView p current=move |k: &str| get(k) /> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    })
}

#[component]
fn AuditView(
    p: Page,
    current: impl Fn(&str) -> String + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let Page {
        entries,
        next,
        actions,
        projects,
    } = p;
    let older = next.map(|cursor| {
        let mut q: Vec<String> = FILTERS
            .iter()
            .map(|k| (k, current(k)))
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", urlencode::query_value(&v)))
            .collect();
        q.push(format!("before={}", urlencode::query_value(&cursor)));
        format!("/audit?{}", q.join("&"))
    });
    // The downloads take the filters as they are, without the page.
    let export = move |what: &str, format: &str| {
        let mut q = vec![format!("format={format}")];
        if what == "audit" {
            q.extend(
                FILTERS
                    .iter()
                    .map(|k| (k, current(k)))
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| format!("{k}={}", urlencode::query_value(&v))),
            );
        }
        format!("/api/{what}_export?{}", q.join("&"))
    };
    let paged = !current("before").is_empty();
    let empty = entries.is_empty();
    view! {
        <section class="card">
            <Form method="GET" action="/audit" attr:class="filters" attr:data-test-id="audit-filters">
                <div class="field">
                    <label for="f-actor">"Actor (email)"</label>
                    <input id="f-actor" type="text" name="actor" value=current("actor") />
                </div>
                <div class="field">
                    <label for="f-action">"Action"</label>
                    <select id="f-action" name="action" data-test-id="filter-action">
                        <option value="">"Any"</option>
                        {actions.into_iter().map(|a| {
                            let selected = a == current("action");
                            view! { <option value=a.clone() selected=selected>{a.clone()}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="f-project">"Project"</label>
                    <select id="f-project" name="project_id">
                        <option value="">"Any"</option>
                        {projects.into_iter().map(|(id, name)| {
                            let selected = id == current("project_id");
                            view! { <option value=id selected=selected>{name}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="f-from">"From"</label>
                    <input id="f-from" type="date" name="from" value=current("from") />
                </div>
                <div class="field">
                    <label for="f-to">"To"</label>
                    <input id="f-to" type="date" name="to" value=current("to") />
                </div>
                <div class="filter-actions">
                    <button type="submit" class="button primary" data-test-id="apply-filters">"Filter"</button>
                    <A href="/audit" attr:class="button">"Clear"</A>
                </div>
            </Form>
        </section>
        <section class="card">
            {empty.then(|| view! { <p class="muted" data-test-id="audit-empty">"No entries match."</p> })}
            {(!empty).then(|| view! {
                <table class="table stack" data-test-id="audit-table">
                    <thead>
                        <tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Actor"</th>
                            <th scope="col">"Action"</th>
                            <th scope="col">"Target"</th>
                            <th scope="col">"Detail"</th>
                            <th scope="col">"From"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {entries.into_iter().map(|e| view! {
                            <tr data-test-id="audit-row">
                                <td data-label="When"><When at=Some(e.at) /></td>
                                <td data-label="Actor">{e.actor_label}{(e.actor_kind != "user").then(|| view! { " " <span class="badge muted">{e.actor_kind.clone()}</span> })}</td>
                                <td data-label="Action"><code class="nowrap" data-test-id="audit-action">{e.action}</code></td>
                                <td data-label="Target">
                                    <code>{e.target_id}</code>
                                    {e.project_name.map(|n| view! { <br /><span class="muted">{n}</span> })}
                                </td>
                                <td data-label="Detail">{e.detail}</td>
                                <td data-label="From" class="muted"><span class="nowrap">{e.client_ip.unwrap_or_default()}</span></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            <div class="actions">
                {paged.then(|| view! { <A href="/audit" attr:class="button small">"Newest"</A> })}
                {older.map(|href| view! { <A href=href attr:class="button small" attr:data-test-id="older">"Older entries"</A> })}
            </div>
        </section>
        <section class="card" data-test-id="evidence">
            <h2>"Evidence for auditors"</h2>
            <p class="muted">"Each file names your account, the dates it covers and when it was made; its last line says it is complete."</p>
            <p>
                "The log as filtered above, every page: "
                <a href=export("audit", "csv") download data-test-id="export-audit-csv">"CSV"</a>" · "
                <a href=export("audit", "json") download data-test-id="export-audit-json">"JSON"</a>
            </p>
            <p>
                "Tokens minted per client and calls per project, each day of the last 30: "
                <a href=export("usage", "csv") download data-test-id="export-usage-csv">"CSV"</a>" · "
                <a href=export("usage", "json") download data-test-id="export-usage-json">"JSON"</a>
            </p>
        </section>
    }
    .into_any()
}
