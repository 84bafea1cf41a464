//! `/projects/:id`: one project, its clients (create, narrow, mint a test
//! token), how to connect, and its settings.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::form::FormError;
use super::widgets::{CopyButton, ScopeChecklist, StatusBadge, When};
use crate::error::ConsoleError;
use crate::format;
use crate::projects::{
    get_project, ArchiveProject, ClientInfo, CreateClient, DeleteClient, KeepClient, MintTestToken,
    MinuteTraffic, NarrowClient, NewClient, ProjectDetail, RetireClient, RotateClient, ScopeGroup,
    SetRateLimit, UpdateProject,
};

/// Bumped after every change so the project is fetched again.
#[derive(Clone, Copy)]
struct Version(RwSignal<u32>);

impl Version {
    fn bump(self) {
        self.0.update(|v| *v += 1);
    }
}

#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let version = Version(RwSignal::new(0));
    let detail = Resource::new(move || (id(), version.0.get()), |(id, _)| get_project(id));
    // Kept outside the refetched part so a refresh cannot lose it.
    let new_secret = RwSignal::new(None::<NewClient>);
    provide_context(version);
    provide_context(new_secret);

    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => view! { <Detail d new_secret /> }.into_any(),
                    Err(ConsoleError::NotFound) => view! {
                        <Title text="Project not found" />
                        <section class="empty-state" data-test-id="project-not-found">
                            <h1>"Project not found"</h1>
                            <p>"It does not exist, or it belongs to another account."</p>
                            <A href="/projects">"Back to projects"</A>
                        </section>
                    }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Detail(d: ProjectDetail, new_secret: RwSignal<Option<NewClient>>) -> impl IntoView {
    let ProjectDetail {
        project,
        api,
        clients,
        can_manage,
        token_endpoint,
        traffic,
        now,
    } = d;
    let archived = project.archived_at.is_some();
    let live = !archived && can_manage;
    let groups = api.groups.clone();
    let example_scope = clients
        .iter()
        .find(|c| c.status == "active")
        .and_then(|c| c.scopes.first().cloned())
        .unwrap_or_else(|| "<scope>".into());
    let curl = format!(
        "curl -u \"$CLIENT_ID:$CLIENT_SECRET\" \\\n  -d grant_type=client_credentials \\\n  -d scope=\"{example_scope}\" \\\n  {token_endpoint}"
    );
    view! {
        <Title text=project.name.clone() />
        <nav class="breadcrumb" aria-label="Breadcrumb"><A href="/projects">"Projects"</A>" / "</nav>
        <header class="page-header">
            <h1 data-test-id="page-title">
                {project.name.clone()}
                {archived.then(|| view! { " " <span class="badge muted">"Archived"</span> })}
            </h1>
            <p class="lede">{if project.description.is_empty() { api.description.clone() } else { project.description.clone() }}</p>
        </header>
        {archived.then(|| project.archived_at.map(|at| view! {
            <p class="notice" role="status">"Archived on " <When at=Some(at) />
                ". Its clients get no tokens and its tokens are no longer accepted."</p>
        }))}
        {move || new_secret.get().map(|n| view! { <SecretPanel n new_secret /> })}
        <section class="card">
            <div class="card-head">
                <h2>"Clients"</h2>
                <RefreshButton test_id="refresh-clients" />
            </div>
            {clients.is_empty().then(|| view! {
                <p class="muted" data-test-id="no-clients">"No clients yet. Create one below with only the scopes this integration needs."</p>
            })}
            {rotation_notice(&clients)}
            <div class="clients">
                {clients.into_iter().map(|c| view! {
                    <ClientCard c groups=groups.clone() can_manage=live now />
                }).collect_view()}
            </div>
        </section>
        {live.then(|| view! { <NewClientCard project_id=project.id.clone() groups=groups.clone() new_secret /> })}
        <RateLimitCard
            id=project.id.clone()
            per_sec=project.rate_per_sec
            burst=project.rate_burst
            traffic
            editable=live
        />
        <section class="card">
            <h2>"Connect"</h2>
            <dl class="details">
                <dt>"API"</dt><dd>{api.name.clone()}</dd>
                <dt>"Token endpoint"</dt><dd><code data-test-id="token-endpoint">{token_endpoint.clone()}</code></dd>
                <dt>"Audience (aud)"</dt><dd><code>{api.audience.clone()}</code></dd>
                <dt>"Signing"</dt><dd>{api.signing_alg.clone()}", keys at "<code>"/.well-known/jwks.json"</code></dd>
                <dt>"Token lifetime"</dt><dd>{format::duration(project.token_ttl_secs)}</dd>
                <dt>"Project id"</dt><dd><code>{project.id.clone()}</code></dd>
            </dl>
            <p class="hint">"Name the scopes each token needs in the scope parameter; a request without it is refused."</p>
            <pre class="code">{curl}</pre>
        </section>
        {live.then(|| view! {
            <SettingsCard id=project.id.clone() name=project.name.clone()
                description=project.description.clone() ttl=project.token_ttl_secs />
        })}
    }
}

#[component]
fn RefreshButton(test_id: &'static str) -> impl IntoView {
    let version = expect_context::<Version>();
    view! {
        <button type="button" class="button small" on:click=move |_| version.bump() data-test-id=test_id>
            "Refresh"
        </button>
    }
}

/// The one time a secret is shown.
#[component]
fn SecretPanel(n: NewClient, new_secret: RwSignal<Option<NewClient>>) -> impl IntoView {
    let secret = n.client_secret.clone();
    let id = n.client.id.clone();
    view! {
        <section class="card secret-panel" role="status" data-test-id="secret-panel">
            <h2>"Client created: copy its secret now"</h2>
            <p>"This is the only time the secret is shown. Portcullis keeps only a keyed hash of it; if it is lost, create a new client."</p>
            <dl class="details">
                <dt>"Client id"</dt>
                <dd><code data-test-id="new-client-id">{id.clone()}</code> " "
                    <CopyButton text=id label="Copy id" /></dd>
                <dt>"Client secret"</dt>
                <dd><code class="secret" data-test-id="new-client-secret">{secret.clone()}</code> " "
                    <CopyButton text=secret label="Copy secret" test_id="copy-secret" /></dd>
            </dl>
            <button type="button" class="button" on:click=move |_| new_secret.set(None) data-test-id="secret-done">
                "I have stored the secret"
            </button>
        </section>
    }
}

/// Two live long-lived clients: a rotation is under way.
fn rotation_notice(clients: &[ClientInfo]) -> Option<impl IntoView> {
    let live: Vec<&ClientInfo> = clients
        .iter()
        .filter(|c| c.status == "active" && c.expires_at.is_none())
        .collect();
    (live.len() == 2).then(|| {
        let (old, new) = (live[0], live[1]);
        view! {
            <p class="notice" role="status" data-test-id="rotation-notice">
                <strong>"Rotation in progress. "</strong>
                {format!(
                    "Last hour: {} tokens for {} (old), {} for {} (new). Retire the old client once its traffic has moved.",
                    old.minted_last_hour, old.name, new.minted_last_hour, new.name
                )}
            </p>
        }
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Panel {
    Mint,
    Narrow,
    Retire,
}

#[component]
fn ClientCard(c: ClientInfo, groups: Vec<ScopeGroup>, can_manage: bool, now: i64) -> impl IntoView {
    let version = expect_context::<Version>();
    let new_secret = expect_context::<RwSignal<Option<NewClient>>>();
    let panel = RwSignal::new(None::<Panel>);
    let active = c.status == "active";
    let temporary = c.expires_at.is_some();
    let rotate = ServerAction::<RotateClient>::new();
    let keep = ServerAction::<KeepClient>::new();
    let delete = ServerAction::<DeleteClient>::new();
    Effect::new(move |_| {
        if let Some(Ok(n)) = rotate.value().get() {
            new_secret.set(Some(n));
            version.bump();
        }
    });
    Effect::new(move |_| {
        if matches!(keep.value().get(), Some(Ok(())))
            || matches!(delete.value().get(), Some(Ok(())))
        {
            version.bump();
        }
    });
    let action_error = Signal::derive(move || {
        rotate
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| keep.value().get().and_then(Result::err))
            .or_else(|| delete.value().get().and_then(Result::err))
    });
    let (minted_5m, minted_hour, retire_at) = (c.minted_last_5m, c.minted_last_hour, c.retire_at);
    let recently_used = c
        .last_used_at
        .filter(|t| now - t < 15 * 60)
        .map(|t| (now - t) / 60);
    let toggle = move |p: Panel| {
        move |_| panel.update(|cur| *cur = if *cur == Some(p) { None } else { Some(p) })
    };
    let ClientInfo {
        id,
        name,
        scopes,
        created_at,
        last_used_at,
        status,
        disabled_reason,
        expires_at,
        ..
    } = c;
    let narrow_groups = groups.clone();
    let (narrow_id, mint_id, retire_id) = (id.clone(), id.clone(), id.clone());
    let (rotate_id, keep_id, delete_id) = (id.clone(), id.clone(), id.clone());
    let (narrow_scopes, mint_scopes) = (scopes.clone(), scopes.clone());
    view! {
        <article class="client" data-test-id="client" data-client-id=id.clone()>
            <header class="client-head">
                <h3>{name}</h3>
                <StatusBadge status />
                {temporary.then(|| view! { <span class="badge">"Temporary"</span> })}
            </header>
            {disabled_reason.map(|r| view! { <p class="notice bad">{r}</p> })}
            <dl class="details">
                <dt>"Client id"</dt>
                <dd><code>{id.clone()}</code> " " <CopyButton text=id.clone() label="Copy" /></dd>
                <dt>"Scopes"</dt>
                <dd class="chips" data-test-id="client-scopes">
                    {scopes.into_iter().map(|s| view! { <code class="chip">{s}</code> }).collect_view()}
                </dd>
                <dt>"Created"</dt><dd><When at=Some(created_at) /></dd>
                <dt>"Last used"</dt><dd data-test-id="last-used"><When at=last_used_at /></dd>
                <dt>"Tokens minted"</dt>
                <dd>
                    <strong data-test-id="minted-5m">{minted_5m}</strong>" in the last 5 minutes, "
                    <strong data-test-id="minted-1h">{minted_hour}</strong>" in the last hour"
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
            <FormError error=action_error />
            {(can_manage && active).then(|| view! {
                <div class="actions">
                    <button type="button" class="button small" on:click=toggle(Panel::Mint)
                        aria-expanded=move || (panel.get() == Some(Panel::Mint)).to_string()
                        data-test-id="open-mint">"Mint a test token"</button>
                    <button type="button" class="button small" on:click=toggle(Panel::Narrow)
                        aria-expanded=move || (panel.get() == Some(Panel::Narrow)).to_string()
                        data-test-id="open-narrow">"Narrow scopes"</button>
                    {(!temporary).then(|| view! {
                        <button type="button" class="button small" data-test-id="rotate"
                            disabled=move || rotate.pending().get()
                            on:click=move |_| { rotate.dispatch(RotateClient { client_id: rotate_id.clone() }); }>
                            "Rotate credentials"</button>
                    })}
                    <button type="button" class="button small danger" on:click=toggle(Panel::Retire)
                        aria-expanded=move || (panel.get() == Some(Panel::Retire)).to_string()
                        data-test-id="open-retire">"Retire…"</button>
                </div>
            })}
            {(can_manage && !active).then(|| view! {
                <div class="actions">
                    <button type="button" class="button small danger" data-test-id="delete-client"
                        on:click=move |_| { delete.dispatch(DeleteClient { client_id: delete_id.clone() }); }>
                        "Delete client"</button>
                </div>
            })}
            {move || match panel.get() {
                Some(Panel::Narrow) => view! {
                    <NarrowPanel client_id=narrow_id.clone() scopes=narrow_scopes.clone() groups=narrow_groups.clone() />
                }.into_any(),
                Some(Panel::Mint) => view! {
                    <MintPanel client_id=mint_id.clone() scopes=mint_scopes.clone() groups=groups.clone() />
                }.into_any(),
                Some(Panel::Retire) => view! {
                    <RetirePanel client_id=retire_id.clone() recently_used />
                }.into_any(),
                None => ().into_any(),
            }}
        </article>
    }
    .into_any()
}

#[component]
fn RetirePanel(client_id: String, recently_used: Option<i64>) -> impl IntoView {
    let version = expect_context::<Version>();
    let action = ServerAction::<RetireClient>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let when = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            version.bump();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(RetireClient {
            client_id: client_id.clone(),
            retire_at: when.get_untracked(),
        });
    };
    view! {
        <form class="panel" on:submit=submit data-test-id="retire-form">
            <h4>"Retire this client"</h4>
            {recently_used.map(|mins| view! {
                <p class="notice bad" role="alert" data-test-id="recent-use-warning">
                    {if mins == 0 { "This client was used less than a minute ago.".to_string() }
                     else { format!("This client was used {mins} minutes ago.") }}
                    " Anything still using it will fail. Check that its traffic has moved to the new client."
                </p>
            })}
            <p class="hint">"Once retired, the token endpoint refuses this client and every token it minted stops being accepted, at once. This cannot be undone."</p>
            <FormError error />
            <div class="field">
                <label for="retire_at">"Retire at (UTC) " <span class="muted">"(leave empty to retire now)"</span></label>
                <input id="retire_at" type="datetime-local" prop:value=move || when.get()
                    on:input=move |ev| when.set(event_target_value(&ev)) data-test-id="retire-at-input" />
            </div>
            <button type="submit" class="button danger" disabled=move || action.pending().get() data-test-id="confirm-retire">
                {move || if when.with(String::is_empty) { "Retire now" } else { "Schedule retirement" }}
            </button>
        </form>
    }
}

#[component]
fn NarrowPanel(client_id: String, scopes: Vec<String>, groups: Vec<ScopeGroup>) -> impl IntoView {
    let version = expect_context::<Version>();
    let selected = RwSignal::new(scopes.clone());
    let action = ServerAction::<NarrowClient>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            version.bump();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(NarrowClient {
            client_id: client_id.clone(),
            scopes: selected.get_untracked(),
        });
    };
    view! {
        <form class="panel" on:submit=submit data-test-id="narrow-form">
            <h4>"Narrow this client's scopes"</h4>
            <p class="hint">"Untick what this client should lose. This affects new tokens only: tokens already issued keep their scopes until they expire."</p>
            <FormError error />
            <ScopeChecklist groups selected id_prefix=format!("narrow-{}", scopes.len()) offer=scopes />
            <p class="hint" data-test-id="widen-hint">"Need a scope this client does not have? A live client is never widened: "
                <a href="#new-client">"create a new purpose-scoped client"</a>" instead."</p>
            <button type="submit" class="button primary" disabled=move || action.pending().get() data-test-id="narrow-submit">
                "Narrow scopes"
            </button>
        </form>
    }
}

#[component]
fn MintPanel(client_id: String, scopes: Vec<String>, groups: Vec<ScopeGroup>) -> impl IntoView {
    let version = expect_context::<Version>();
    let _ = version;
    let selected = RwSignal::new(Vec::<String>::new());
    let action = ServerAction::<MintTestToken>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(MintTestToken {
            client_id: client_id.clone(),
            scopes: selected.get_untracked(),
        });
    };
    view! {
        <form class="panel" on:submit=submit data-test-id="mint-form">
            <h4>"Mint a test token"</h4>
            <p class="hint">"Made by the token endpoint's own minting, for trying the API. Tick the scopes the token should carry."</p>
            <FormError error />
            <ScopeChecklist groups selected id_prefix="mint".to_string() offer=scopes />
            <button type="submit" class="button primary" disabled=move || action.pending().get() data-test-id="mint-submit">
                "Mint test token"
            </button>
            {move || action.value().get().and_then(Result::ok).map(|t| {
                let token = t.access_token.clone();
                view! {
                    <div class="minted" data-test-id="minted">
                        <p>"Expires in " {format::duration(t.expires_in)} ". Scope: " <code>{t.scope.clone()}</code></p>
                        <label for="minted-token">"Access token"</label>
                        <textarea id="minted-token" readonly rows="4" class="code" data-test-id="minted-token">{token.clone()}</textarea>
                        <CopyButton text=token label="Copy token" />
                        <div class="decoded">
                            <div><h5>"Header"</h5><pre class="code">{t.header_json.clone()}</pre></div>
                            <div><h5>"Claims"</h5><pre class="code" data-test-id="minted-claims">{t.claims_json.clone()}</pre></div>
                        </div>
                    </div>
                }
            })}
        </form>
    }
}

#[component]
fn NewClientCard(
    project_id: String,
    groups: Vec<ScopeGroup>,
    new_secret: RwSignal<Option<NewClient>>,
) -> impl IntoView {
    let version = expect_context::<Version>();
    let name = RwSignal::new("Primary".to_string());
    let lifetime = RwSignal::new(String::new());
    let selected = RwSignal::new(Vec::<String>::new());
    let action = ServerAction::<CreateClient>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok(n)) = action.value().get() {
            new_secret.set(Some(n));
            version.bump();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(CreateClient {
            project_id: project_id.clone(),
            client_name: name.get_untracked(),
            scopes: selected.get_untracked(),
            expires_in_hours: lifetime.get_untracked(),
        });
    };
    view! {
        <section class="card" id="new-client">
            <h2>"New client"</h2>
            <p class="hint">"Tick only what this integration needs. Nothing is ticked for you, and destructive scopes are marked."</p>
            <form on:submit=submit data-test-id="new-client-form">
                <FormError error />
                <div class="field">
                    <label for="client_name">"Client name"</label>
                    <input id="client_name" type="text" maxlength="60" required prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev)) data-test-id="client-name" />
                </div>
                <div class="field">
                    <label for="client_lifetime">"Lifetime"</label>
                    <select id="client_lifetime" on:change=move |ev| lifetime.set(event_target_value(&ev))
                        aria-describedby="lifetime-hint" data-test-id="client-lifetime">
                        <option value="" selected>"Long-lived (rotate it when needed)"</option>
                        <option value="1">"Temporary: 1 hour"</option>
                        <option value="24">"Temporary: 1 day"</option>
                        <option value="168">"Temporary: 7 days"</option>
                        <option value="720">"Temporary: 30 days"</option>
                    </select>
                    <p id="lifetime-hint" class="hint">"A temporary client suits a one-off task: it stops working at its expiry, and no token outlives it."</p>
                </div>
                <ScopeChecklist groups selected id_prefix="new".to_string() />
                <p class="hint">{move || match selected.with(Vec::len) {
                    0 => "No scopes ticked.".to_string(),
                    1 => "1 scope ticked.".to_string(),
                    n => format!("{n} scopes ticked."),
                }}</p>
                <button type="submit" class="button primary" disabled=move || action.pending().get() data-test-id="create-client">
                    {move || if action.pending().get() { "Creating…" } else { "Create client" }}
                </button>
            </form>
        </section>
    }
    .into_any()
}

#[component]
fn SettingsCard(id: String, name: String, description: String, ttl: i64) -> impl IntoView {
    let version = expect_context::<Version>();
    let update = ServerAction::<UpdateProject>::new();
    let archive = ServerAction::<ArchiveProject>::new();
    let confirming = RwSignal::new(false);
    let error = Signal::derive(move || {
        update
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| archive.value().get().and_then(Result::err))
    });
    let saved = move || matches!(update.value().get(), Some(Ok(())));
    Effect::new(move |_| {
        if let Some(Ok(())) = archive.value().get() {
            version.bump();
        }
    });
    let archive_id = id.clone();
    view! {
        <section class="card">
            <h2>"Settings"</h2>
            <ActionForm action=update attr:data-test-id="settings-form">
                <FormError error />
                <input type="hidden" name="id" value=id />
                <div class="field">
                    <label for="settings-name">"Name"</label>
                    <input id="settings-name" type="text" name="name" required maxlength="80" value=name />
                </div>
                <div class="field">
                    <label for="settings-description">"Description"</label>
                    <textarea id="settings-description" name="description" rows="2" maxlength="500">{description}</textarea>
                </div>
                <div class="field">
                    <label for="settings-ttl">"Access-token lifetime (seconds)"</label>
                    <input id="settings-ttl" name="token_ttl_secs" type="number" min="300" max="86400"
                        value=ttl.to_string() aria-describedby="settings-ttl-hint" data-test-id="settings-ttl" />
                    <p id="settings-ttl-hint" class="hint">"300 to 86400. Applies to tokens minted from now on."</p>
                </div>
                <button type="submit" class="button primary" data-test-id="save-settings">"Save"</button>
                {move || saved().then(|| view! { <span class="saved" role="status">" Saved."</span> })}
            </ActionForm>
            <div class="danger-zone">
                <h3>"Archive this project"</h3>
                <p class="hint">"Its clients stop getting tokens at once and its tokens stop being accepted. This cannot be undone from the console."</p>
                {move || if confirming.get() {
                    let id = archive_id.clone();
                    view! {
                        <p><strong>"Archive now? Every integration using this project stops working."</strong></p>
                        <button type="button" class="button danger" data-test-id="confirm-archive"
                            on:click=move |_| { archive.dispatch(ArchiveProject { id: id.clone() }); }>"Archive project"</button>
                        " "
                        <button type="button" class="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
                    }.into_any()
                } else {
                    view! {
                        <button type="button" class="button danger" on:click=move |_| confirming.set(true)
                            data-test-id="archive">"Archive project…"</button>
                    }.into_any()
                }}
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn RateLimitCard(
    id: String,
    per_sec: i64,
    burst: i64,
    traffic: Vec<MinuteTraffic>,
    editable: bool,
) -> impl IntoView {
    let version = expect_context::<Version>();
    let action = ServerAction::<SetRateLimit>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok(())) = action.value().get() {
            version.bump();
        }
    });
    let allowed: u64 = traffic.iter().map(|m| m.allowed).sum();
    let limited: u64 = traffic.iter().map(|m| m.limited).sum();
    view! {
        <section class="card">
            <div class="card-head">
                <h2>"Rate limit"</h2>
                <RefreshButton test_id="refresh-traffic" />
            </div>
            <p class="hint">
                "One bucket for this project: its token requests and every API call made with its tokens. "
                "Over the limit, callers get 429 with Retry-After."
            </p>
            <p data-test-id="rate-limit-current">
                <strong>{per_sec}</strong>
                {if per_sec == 1 { " request per second, bursts of " } else { " requests per second, bursts of " }}
                <strong>{burst}</strong>
            </p>
            <TrafficChart traffic />
            <p class="traffic-totals">
                "Last hour: "
                <span class="legend allowed"></span><strong data-test-id="traffic-allowed">{allowed}</strong>" allowed, "
                <span class="legend limited"></span><strong data-test-id="traffic-limited">{limited}</strong>" limited"
            </p>
            {editable.then(|| view! {
                <ActionForm action=action attr:data-test-id="rate-limit-form" attr:class="inline-form">
                    <FormError error />
                    <input type="hidden" name="id" value=id />
                    <div class="field">
                        <label for="rate_per_sec">"Requests per second"</label>
                        <input id="rate_per_sec" name="rate_per_sec" type="number" min="1" max="100000"
                            value=per_sec.to_string() required data-test-id="rate-per-sec" />
                    </div>
                    <div class="field">
                        <label for="rate_burst">"Burst"</label>
                        <input id="rate_burst" name="rate_burst" type="number" min="1" max="100000"
                            value=burst.to_string() required data-test-id="rate-burst" />
                    </div>
                    <button type="submit" class="button primary" data-test-id="save-rate-limit">"Save limit"</button>
                </ActionForm>
                <p class="hint">"Takes effect on the next request; no restart."</p>
            })}
        </section>
    }
    .into_any()
}

/// Allowed and limited requests per minute over the last hour, as bars
/// drawn on the server; each bar names its numbers on hover.
#[component]
fn TrafficChart(traffic: Vec<MinuteTraffic>) -> impl IntoView {
    const W: f64 = 600.0;
    const H: f64 = 100.0;
    let peak = traffic
        .iter()
        .map(|m| m.allowed + m.limited)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = W / traffic.len().max(1) as f64;
    let bars = traffic
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let x = i as f64 * slot + 1.0;
            let w = (slot - 2.0).max(1.0);
            let ha = m.allowed as f64 / peak * H;
            let hl = m.limited as f64 / peak * H;
            let label = format!(
                "{}: {} allowed, {} limited",
                format::utc(m.at).trim_end_matches(" UTC").rsplit(' ').next().unwrap_or_default(),
                m.allowed,
                m.limited
            );
            view! {
                <g class="bar">
                    <title>{label}</title>
                    <rect x=format!("{x:.1}") y="0" width=format!("{w:.1}") height=H.to_string() class="hover" />
                    <rect x=format!("{x:.1}") y=format!("{:.1}", H - ha) width=format!("{w:.1}")
                        height=format!("{ha:.1}") class="allowed" />
                    <rect x=format!("{x:.1}") y=format!("{:.1}", H - ha - hl) width=format!("{w:.1}")
                        height=format!("{hl:.1}") class="limited" />
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart" data-test-id="traffic-chart">
            <svg viewBox=format!("0 0 {W} {H}") preserveAspectRatio="none" role="img"
                aria-label="Allowed and limited requests per minute, last hour">
                {bars}
            </svg>
            <figcaption class="hint">"Requests per minute, last 60 minutes (UTC). Hover a bar for its numbers."</figcaption>
        </figure>
    }
    .into_any()
}
