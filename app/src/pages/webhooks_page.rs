//! `/webhooks`: the account's webhook endpoints (owners register them; the
//! signing secret is shown once), each with its delivery log and "send
//! again".

use leptos::either::{Either, EitherOf3, EitherOf4};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;

use super::boundary::erased_on_server;
use super::form::{last_error, on_success, FormError};
use super::widgets::{CopyButton, When};
use crate::error::ConsoleError;
use crate::webhooks::{
    webhook_deliveries, webhooks, CreateWebhook, DeleteWebhook, DeliveriesView, EndpointInfo,
    NewEndpoint, ResendDelivery, SetWebhookEnabled, UpdateWebhook, WebhooksView,
};

#[component]
pub fn WebhooksPage() -> impl IntoView {
    erased_on_server(view! {
        <Title text="Webhooks" />
        <header class="page-header">
            <h1 data-test-id="page-title">"Webhooks"</h1>
            <p class="lede">"Hear about your credentials as things happen: a client created, rotated, retired, revoked by support (with the reason), expired or reported leaked, and a project held back by its rate limit. Each delivery is signed as the Standard Webhooks specification describes, and retried for 24 hours."</p>
        </header>
        <WebhooksSection />
    })
}

#[island(lazy)]
fn WebhooksSection() -> impl IntoView {
    crate::island_hydrated("WebhooksSection");
    let data = RwSignal::new(None::<Result<WebhooksView, ConsoleError>>);
    let refresh = move || spawn_local(async move { data.set(Some(webhooks().await)) });
    Effect::new(move |_| refresh());
    let fresh = RwSignal::new(None::<NewEndpoint>);
    erased_on_server(view! {
        {move || fresh.get().map(|n| view! { <SigningSecret n fresh /> })}
        {move || match data.get() {
            None => EitherOf3::A(view! { <p>"Loading…"</p> }),
            Some(Err(e)) => EitherOf3::B(view! { <p class="form-error" role="alert">{e.to_string()}</p> }),
            Some(Ok(v)) => EitherOf3::C(view! {
                <EndpointList v=v.clone() refresh />
                {v.can_manage.then(|| view! { <AddEndpoint v=v.clone() fresh refresh /> })}
            }),
        }}
    })
}

/// The one time an endpoint's signing secret is shown.
#[component]
fn SigningSecret(n: NewEndpoint, fresh: RwSignal<Option<NewEndpoint>>) -> impl IntoView {
    view! {
        <section class="card secret-panel" role="status" data-test-id="webhook-secret-panel">
            <h2>"Endpoint registered: copy its signing secret now"</h2>
            <p>"Your receiver checks each delivery's " <code>"webhook-signature"</code>
                " with this secret (any Standard Webhooks library does it). It is not shown again."</p>
            <p><code class="secret" data-test-id="webhook-secret">{n.secret.clone()}</code>" "
                <CopyButton text=n.secret.clone() label="Copy secret" /></p>
            <button type="button" class="button" on:click=move |_| fresh.set(None)
                data-test-id="webhook-secret-done">"I have stored the secret"</button>
        </section>
    }
}

#[component]
fn EndpointList(
    v: WebhooksView,
    refresh: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let toggle = ServerAction::<SetWebhookEnabled>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    on_success(toggle, move |_| refresh());
    on_success(delete, move |_| refresh());
    let error = Signal::derive(move || {
        toggle
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| delete.value().get().and_then(Result::err))
    });
    if v.endpoints.is_empty() {
        return Either::Left(view! {
            <section class="card"><p class="muted" data-test-id="webhook-none">"No endpoints yet."</p></section>
        });
    }
    let endpoints = v.endpoints.clone();
    Either::Right(view! {
        <FormError error />
        {endpoints.into_iter().map(|e| view! { <EndpointCard e v=v.clone() toggle delete refresh /> }).collect_view()}
    })
}

#[component]
fn EndpointCard(
    e: EndpointInfo,
    v: WebhooksView,
    toggle: ServerAction<SetWebhookEnabled>,
    delete: ServerAction<DeleteWebhook>,
    refresh: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let can_manage = v.can_manage;
    let editing = RwSignal::new(false);
    let for_edit = e.clone();
    let (id_toggle, id_delete, id_log) = (e.id.clone(), e.id.clone(), e.id.clone());
    let enabled = e.disabled_at.is_none();
    let state = match (&e.disabled_reason, e.failing_since) {
        (Some(why), _) if !enabled => EitherOf3::A(view! {
            <p class="badge danger" data-test-id="webhook-state">"Off: "{why.clone()}</p>
        }),
        (_, Some(since)) => EitherOf3::B(view! {
            <p class="badge warn" data-test-id="webhook-state">"Failing since "<When at=Some(since) /></p>
        }),
        _ => EitherOf3::C(view! { <p class="badge ok" data-test-id="webhook-state">"On"</p> }),
    };
    let show_log = RwSignal::new(false);
    erased_on_server(view! {
        <section class="card" data-test-id="webhook-row" data-endpoint-id=e.id.clone()>
            <h2><code data-test-id="webhook-url">{e.url.clone()}</code></h2>
            {(!e.description.is_empty()).then(|| view! { <p>{e.description.clone()}</p> })}
            {state}
            <p class="muted">"Events: "{e.events.join(", ")}" · registered "<When at=Some(e.created_at) />" · "<code>{e.id.clone()}</code></p>
            <div class="inline-form">
                <button type="button" class="button small" data-test-id="webhook-show-log"
                    on:click=move |_| show_log.update(|s| *s = !*s)>
                    {move || if show_log.get() { "Hide the delivery log" } else { "Delivery log" }}</button>
                {can_manage.then(|| view! {
                    <button type="button" class="button small" data-test-id="webhook-edit"
                        on:click=move |_| editing.update(|x| *x = !*x)>"Edit"</button>
                    <button type="button" class="button small" data-test-id="webhook-toggle"
                        on:click=move |_| { toggle.dispatch(SetWebhookEnabled { id: id_toggle.clone(), enabled: !enabled }); }>
                        {if enabled { "Turn off" } else { "Turn on" }}</button>
                    <button type="button" class="button small danger" data-test-id="webhook-delete"
                        on:click=move |_| { delete.dispatch(DeleteWebhook { id: id_delete.clone() }); }>
                        "Delete"</button>
                })}
            </div>
            {move || editing.get().then(|| view! { <EditEndpoint e=for_edit.clone() v=v.clone() editing refresh /> })}
            {move || show_log.get().then(|| view! { <DeliveryLog id=id_log.clone() can_manage /> })}
        </section>
    })
}

#[component]
fn DeliveryLog(id: String, can_manage: bool) -> impl IntoView {
    let page = RwSignal::new(None::<Result<DeliveriesView, ConsoleError>>);
    let load = {
        let id = id.clone();
        move || {
            let id = id.clone();
            spawn_local(async move { page.set(Some(webhook_deliveries(id, String::new()).await)) })
        }
    };
    load();
    let resend = ServerAction::<ResendDelivery>::new();
    let resend_error = last_error(resend);
    on_success(resend, {
        let load = load.clone();
        move |_| load()
    });
    view! {
        <FormError error=resend_error />
        {move || match page.get() {
            None => EitherOf4::A(view! { <p>"Loading…"</p> }),
            Some(Err(e)) => EitherOf4::B(view! { <p class="form-error" role="alert">{e.to_string()}</p> }),
            Some(Ok(v)) if v.deliveries.is_empty() => EitherOf4::C(view! {
                <p class="muted" data-test-id="delivery-none">"Nothing sent yet."</p>
            }),
            Some(Ok(v)) => EitherOf4::D(view! {
                <table class="table stack" data-test-id="delivery-log">
                    <thead><tr><th scope="col">"Event"</th><th scope="col">"Written"</th><th scope="col">"Status"</th>
                        <th scope="col">"Attempts"</th><th scope="col">"Last answer"</th><th></th></tr></thead>
                    <tbody>
                        {v.deliveries.into_iter().map(|d| {
                            let (endpoint, message) = (id.clone(), d.id.clone());
                            let answer = match (d.last_status_code, d.last_error.clone()) {
                                (Some(code), _) => format!("HTTP {code}"),
                                (None, Some(e)) => e,
                                (None, None) => "—".to_owned(),
                            };
                            view! {
                                <tr data-test-id="delivery-row" data-message-id=d.id.clone()>
                                    <td data-label="Event"><code>{d.event_type.clone()}</code></td>
                                    <td data-label="Written"><When at=Some(d.created_at) /></td>
                                    <td data-label="Status"><span data-test-id="delivery-status">{d.status.clone()}</span>
                                        {d.next_attempt_at.map(|at| view! { " · next try " <When at=Some(at) /> })}</td>
                                    <td data-label="Attempts" data-test-id="delivery-attempts">{d.attempts}</td>
                                    <td data-label="Last answer" data-test-id="delivery-answer">{answer}</td>
                                    <td>{can_manage.then(|| view! {
                                        <button type="button" class="button small" data-test-id="delivery-resend"
                                            on:click=move |_| { resend.dispatch(ResendDelivery { id: endpoint.clone(), message_id: message.clone() }); }>
                                            "Send again"</button>
                                    })}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }),
        }}
    }
}

/// Register an endpoint: URL, the events it takes, a note.
#[component]
fn AddEndpoint(
    v: WebhooksView,
    fresh: RwSignal<Option<NewEndpoint>>,
    refresh: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let create = ServerAction::<CreateWebhook>::new();
    let error = last_error(create);
    let all = v.event_types.iter().map(|(t, _)| t.clone()).collect();
    let fields = Fields::new(String::new(), all, String::new());
    on_success(create, move |made| {
        fresh.set(Some(made));
        fields.url.set(String::new());
        fields.description.set(String::new());
        refresh();
    });
    erased_on_server(view! {
        <section class="card">
            <h2>"Register an endpoint"</h2>
            <FormError error />
            <form data-test-id="webhook-form" on:submit=move |ev| {
                ev.prevent_default();
                let (url, events, description) = fields.get();
                create.dispatch(CreateWebhook { url, events, description });
            }>
                <EndpointFields fields v prefix="webhook" />
                <button type="submit" class="button primary" data-test-id="webhook-create"
                    disabled=move || create.pending().get()>"Register endpoint"</button>
            </form>
        </section>
    })
}

/// Change an endpoint's URL, events and note in place; its secret stays.
#[component]
fn EditEndpoint(
    e: EndpointInfo,
    v: WebhooksView,
    editing: RwSignal<bool>,
    refresh: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let update = ServerAction::<UpdateWebhook>::new();
    let error = last_error(update);
    let fields = Fields::new(e.url, e.events, e.description);
    on_success(update, move |_| {
        editing.set(false);
        refresh();
    });
    let prefix = format!("webhook-edit-{}", e.id);
    erased_on_server(view! {
        <FormError error />
        <form data-test-id="webhook-edit-form" on:submit=move |ev| {
            ev.prevent_default();
            let (url, events, description) = fields.get();
            update.dispatch(UpdateWebhook { id: e.id.clone(), url, events, description });
        }>
            <EndpointFields fields v prefix />
            <div class="inline-form">
                <button type="submit" class="button primary small" data-test-id="webhook-save"
                    disabled=move || update.pending().get()>"Save changes"</button>
                <button type="button" class="button small" on:click=move |_| editing.set(false)>"Cancel"</button>
            </div>
        </form>
    })
}

/// What the register and edit forms hold.
#[derive(Clone, Copy)]
struct Fields {
    url: RwSignal<String>,
    chosen: RwSignal<Vec<String>>,
    description: RwSignal<String>,
}

impl Fields {
    fn new(url: String, chosen: Vec<String>, description: String) -> Self {
        Self {
            url: RwSignal::new(url),
            chosen: RwSignal::new(chosen),
            description: RwSignal::new(description),
        }
    }

    /// URL, events separated by spaces (as the server functions take them),
    /// note.
    fn get(self) -> (String, String, String) {
        (
            self.url.get_untracked(),
            self.chosen.get_untracked().join(" "),
            self.description.get_untracked(),
        )
    }
}

/// URL, event checkboxes and note; `prefix` keeps the ids of several forms
/// on one page apart.
#[component]
fn EndpointFields(fields: Fields, v: WebhooksView, #[prop(into)] prefix: String) -> impl IntoView {
    let Fields {
        url,
        chosen,
        description,
    } = fields;
    let hint = if v.private_targets {
        "An http(s) URL; this server may send to private addresses."
    } else {
        "An https URL on a public address."
    };
    let (url_id, hint_id, note_id) = (
        format!("{prefix}-url"),
        format!("{prefix}-url-hint"),
        format!("{prefix}-description"),
    );
    view! {
        <div class="field">
            <label for=url_id.clone()>"URL"</label>
            <input id=url_id type="url" required maxlength="2000" data-test-id="webhook-url-input"
                aria-describedby=hint_id.clone() prop:value=url
                on:input=move |ev| url.set(event_target_value(&ev)) />
            <p id=hint_id class="hint">{hint}</p>
        </div>
        <fieldset class="field">
            <legend>"Events"</legend>
            {v.event_types.into_iter().map(|(t, what)| {
                let (t1, t2) = (t.clone(), t.clone());
                view! {
                    <label class="check">
                        <input type="checkbox" data-test-id="webhook-event" value=t.clone()
                            prop:checked=move || chosen.get().contains(&t1)
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                chosen.update(|c| {
                                    c.retain(|x| x != &t2);
                                    if on { c.push(t2.clone()); }
                                });
                            } />
                        " "<code>{t}</code>" — "{what}
                    </label>
                }
            }).collect_view()}
        </fieldset>
        <div class="field">
            <label for=note_id.clone()>"Note (optional)"</label>
            <input id=note_id type="text" maxlength="200" data-test-id="webhook-description"
                prop:value=description on:input=move |ev| description.set(event_target_value(&ev)) />
        </div>
    }
}
