//! One client of the project as a card: its facts, the actions a developer
//! may take on it, and the panel those open. Each part is a component of
//! its own, type-erased on the server (see `pages::boundary`).

use leptos::either::{Either, EitherOf5};
use leptos::prelude::*;

use super::clients::{Busy, ClientList, WorkloadAudience};
use super::panels::{KeysPanel, MintPanel, NarrowPanel, RetirePanel};
use super::workload::WorkloadPanel;
use crate::pages::boundary::erased_on_server;
use crate::pages::form::{on_success, FormError};
use crate::pages::widgets::{CopyButton, StatusBadge, When};
use crate::projects::{
    ClientInfo, ClientStatus, DeleteClient, KeepClient, NewClient, RotateClient, ScopeGroup,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Panel {
    Mint,
    Narrow,
    Keys,
    Retire,
}

#[component]
pub(super) fn ClientCard(
    c: ClientInfo,
    groups: Vec<ScopeGroup>,
    can_manage: bool,
    now: i64,
) -> impl IntoView {
    let list = expect_context::<ClientList>();
    let new_secret = expect_context::<RwSignal<Option<NewClient>>>();
    let panel = RwSignal::new(None::<Panel>);
    let active = c.status == ClientStatus::Active;
    let temporary = c.expires_at.is_some();
    let key_client = c.holds_no_secret();
    let workload_client = c.workload.is_some();
    let rotate = ServerAction::<RotateClient>::new();
    let keep = ServerAction::<KeepClient>::new();
    let delete = ServerAction::<DeleteClient>::new();
    on_success(rotate, move |n| {
        new_secret.set(Some(n));
        list.refresh();
    });
    on_success(keep, move |_| list.refresh());
    on_success(delete, move |_| list.refresh());
    // While a panel is open or an action runs, changes heard elsewhere
    // wait (see `ClientList::set_busy`); a card that goes is not busy.
    {
        let id = c.id.clone();
        Effect::new(move |_| {
            let acting = rotate.pending().get() || keep.pending().get() || delete.pending().get();
            let busy = if acting {
                Some(Busy::Acting)
            } else {
                panel.get().map(|_| Busy::Editing)
            };
            list.set_busy(&id, busy);
        });
        let id = c.id.clone();
        on_cleanup(move || list.set_busy(&id, None));
    }
    let action_error = Signal::derive(move || {
        rotate
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| keep.value().get().and_then(Result::err))
            .or_else(|| delete.value().get().and_then(Result::err))
    });
    let recently_used = c
        .last_used_at
        .filter(|t| now - t < 15 * 60)
        .map(|t| (now - t) / 60);
    let (id, scopes) = (c.id.clone(), c.scopes.clone());
    erased_on_server(view! {
        <article class="client" data-test-id="client" data-client-id=id.clone()>
            <ClientHead name=c.name.clone() status=c.status temporary
                disabled_reason=c.disabled_reason.clone() ends_soon=c.ends_soon.clone() />
            {c.dormant_notice.clone().map(|n| view! {
                <p class="notice" role="status" data-test-id="dormant-notice">{n}</p>
            })}
            {c.cut_off.clone().map(|summary| view! {
                <p class="notice" data-test-id="cut-off-summary">{summary}</p>
            })}
            <ClientFacts c can_manage keep />
            <FormError error=action_error />
            {(can_manage && active).then(|| view! {
                <ClientActions client_id=id.clone() panel temporary key_client workload_client rotate />
            })}
            {(can_manage && !active).then(|| view! {
                <div class="actions">
                    <button type="button" class="button small danger" data-test-id="delete-client"
                        on:click={
                            let id = id.clone();
                            move |_| { delete.dispatch(DeleteClient { client_id: id.clone() }); }
                        }>
                        "Delete client"</button>
                </div>
            })}
            <OpenPanel panel client_id=id.clone() scopes groups recently_used workload_client />
        </article>
    })
}

#[component]
fn ClientHead(
    name: String,
    status: ClientStatus,
    temporary: bool,
    disabled_reason: Option<String>,
    ends_soon: Option<String>,
) -> impl IntoView {
    erased_on_server(view! {
        <header class="client-head">
            <h3>{name}</h3>
            <StatusBadge status />
            {temporary.then(|| view! { <span class="badge">"Temporary"</span> })}
            {ends_soon.map(|e| view! { <span class="badge warn" data-test-id="ends-soon">{e}</span> })}
        </header>
        {disabled_reason.map(|r| view! { <p class="notice bad">{r}</p> })}
    })
}

#[component]
fn ClientFacts(c: ClientInfo, can_manage: bool, keep: ServerAction<KeepClient>) -> impl IntoView {
    let ClientInfo {
        id,
        scopes,
        created_at,
        last_used_at,
        expires_at,
        retire_at,
        minted_last_5m,
        minted_last_hour,
        reuse_warning,
        keys,
        jwks_uri,
        workload,
        last_workload,
        ..
    } = c;
    let keep_id = id.clone();
    erased_on_server(view! {
        <dl class="details">
            <dt>"Client id"</dt>
            <dd><code>{id.clone()}</code> " " <CopyButton text=id label="Copy" /></dd>
            <dt>"Scopes"</dt>
            <dd class="chips" data-test-id="client-scopes">
                {scopes.into_iter().map(|s| view! { <code class="chip">{s}</code> }).collect_view()}
            </dd>
            <dt>"Signs in with"</dt>
            <dd data-test-id="client-auth">{match (keys, jwks_uri, workload) {
                (_, _, Some(trust)) => view! {
                    "its platform's identity: " <span data-test-id="client-workload">{trust}</span>
                }.into_any(),
                (None, _, None) => view! { "a secret" }.into_any(),
                (Some(_), Some(url), None) => view! {
                    "private_key_jwt: the JWK Set at " <code data-test-id="client-jwks-uri">{url}</code>
                }.into_any(),
                // One text, not a list of chips: a list here kept its old
                // length when the card was rebuilt with fewer keys.
                (Some(keys), None, None) => {
                    let named = keys
                        .iter()
                        .map(|k| format!("{} ({})", k.kid, k.alg))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let thumbprints = keys
                        .iter()
                        .map(|k| format!("{}: {}", k.kid, k.thumbprint))
                        .collect::<Vec<_>>()
                        .join("\n");
                    view! {
                        "private_key_jwt: "
                        <code title=format!("RFC 7638 thumbprints\n{thumbprints}") data-test-id="client-keys">{named}</code>
                    }.into_any()
                }
            }}</dd>
            <dt>"Created"</dt><dd><When at=Some(created_at) /></dd>
            <dt>"Last used"</dt><dd data-test-id="last-used"><When at=last_used_at />
                {last_workload.map(|w| view! {
                    <br /><span class="muted" data-test-id="last-workload">{format!("by {w}")}</span>
                })}</dd>
            <dt>"Tokens minted"</dt>
            <dd>
                <strong data-test-id="minted-5m">{minted_last_5m}</strong>" in the last 5 minutes, "
                <strong data-test-id="minted-1h">{minted_last_hour}</strong>" in the last hour"
                {reuse_warning.map(|w| view! {
                    <p class="notice bad" role="status" data-test-id="reuse-warning">{w}</p>
                })}
            </dd>
            {expires_at.map(|at| view! { <dt>"Expires"</dt><dd><When at=Some(at) /></dd> })}
            {retire_at.map(|at| view! {
                <dt>"Retires"</dt>
                <dd data-test-id="retire-at"><When at=Some(at) />
                    {can_manage.then(|| view! {
                        " " <button type="button" class="button small" data-test-id="keep"
                            on:click=move |_| { keep.dispatch(KeepClient { client_id: keep_id.clone() }); }>
                            "Cancel retirement"</button>
                    })}
                </dd>
            })}
        </dl>
    })
}

/// The buttons of a live client: each panel toggles open and shut.
#[component]
fn ClientActions(
    client_id: String,
    panel: RwSignal<Option<Panel>>,
    temporary: bool,
    key_client: bool,
    workload_client: bool,
    rotate: ServerAction<RotateClient>,
) -> impl IntoView {
    let toggle = move |p: Panel| {
        move |_| panel.update(|cur| *cur = if *cur == Some(p) { None } else { Some(p) })
    };
    let expanded = move |p: Panel| move || (panel.get() == Some(p)).to_string();
    erased_on_server(view! {
        <div class="actions">
            <button type="button" class="button small" on:click=toggle(Panel::Mint)
                aria-expanded=expanded(Panel::Mint) data-test-id="open-mint">"Mint a test token"</button>
            <button type="button" class="button small" on:click=toggle(Panel::Narrow)
                aria-expanded=expanded(Panel::Narrow) data-test-id="open-narrow">"Narrow scopes"</button>
            {key_client.then(|| view! {
                <button type="button" class="button small" on:click=toggle(Panel::Keys)
                    aria-expanded=expanded(Panel::Keys) data-test-id="open-keys">
                    {if workload_client { "Change trust" } else { "Change keys" }}</button>
            })}
            {(!temporary && !key_client).then(|| view! {
                <button type="button" class="button small" data-test-id="rotate"
                    disabled=move || rotate.pending().get()
                    on:click=move |_| { rotate.dispatch(RotateClient { client_id: client_id.clone() }); }>
                    "Rotate credentials"</button>
            })}
            <button type="button" class="button small danger" on:click=toggle(Panel::Retire)
                aria-expanded=expanded(Panel::Retire) data-test-id="open-retire">"Retire…"</button>
        </div>
    })
}

#[component]
fn OpenPanel(
    panel: RwSignal<Option<Panel>>,
    client_id: String,
    scopes: Vec<String>,
    groups: Vec<ScopeGroup>,
    recently_used: Option<i64>,
    workload_client: bool,
) -> impl IntoView {
    let audience = expect_context::<WorkloadAudience>().0;
    erased_on_server(move || match panel.get() {
        Some(Panel::Narrow) => EitherOf5::A(view! {
            <NarrowPanel client_id=client_id.clone() scopes=scopes.clone() groups=groups.clone() />
        }),
        Some(Panel::Mint) => EitherOf5::B(view! {
            <MintPanel client_id=client_id.clone() scopes=scopes.clone() groups=groups.clone() />
        }),
        Some(Panel::Retire) => EitherOf5::C(view! {
            <RetirePanel client_id=client_id.clone() recently_used />
        }),
        Some(Panel::Keys) if workload_client => EitherOf5::D(Either::Left(view! {
            <WorkloadPanel client_id=client_id.clone() audience=audience.get_value() />
        })),
        Some(Panel::Keys) => EitherOf5::D(Either::Right(
            view! { <KeysPanel client_id=client_id.clone() /> },
        )),
        None => EitherOf5::E(()),
    })
}
