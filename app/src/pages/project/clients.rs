//! The clients section: every client of the project as a card, the form
//! for a new one, and the panel that shows a new secret once. One island,
//! so a secret stays on screen while the list is fetched again.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::client_card::ClientCard;
use super::workload::{WorkloadForm, WorkloadTrustFields};
use crate::error::ConsoleError;
use crate::pages::boundary::erased_on_server;
use crate::pages::form::{last_error, on_success, FormError};
use crate::pages::widgets::{CopyButton, ScopeChecklist};
use crate::projects::{
    get_project, project_refresh, ClientInfo, ClientStatus, CreateClient, NewClient, ScopeGroup,
};

/// The audience a new workload trust asks for by default.
#[derive(Clone, Copy)]
pub(super) struct WorkloadAudience(pub(super) StoredValue<String>);

/// The clients as last fetched, and how to fetch them again.
#[derive(Clone, Copy)]
pub(super) struct ClientList {
    project_id: StoredValue<String>,
    clients: RwSignal<Vec<ClientInfo>>,
    /// The server's clock at the last fetch, for "used recently" warnings.
    now: RwSignal<i64>,
    error: RwSignal<Option<ConsoleError>>,
    /// Cards with a panel open, or an action under way: a change heard
    /// meanwhile waits for the last of them, and a list fetched meanwhile
    /// keeps such a card as it is shown (a card redrawn would close a form
    /// being filled in, or drop the rotation whose one-time secret is on
    /// its way).
    busy: RwSignal<Vec<(String, Busy)>>,
    stale: StoredValue<bool>,
    /// The newest fetch: an older answer arriving later is dropped.
    fetches: StoredValue<u64>,
}

/// Why a card is busy.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Busy {
    /// A panel is open (kept through a change heard elsewhere; redrawn
    /// after the person's own change, which it shows).
    Editing,
    /// Rotate, keep or delete is under way (kept through any fetch).
    Acting,
}

impl ClientList {
    /// Something changed elsewhere: fetch now (quietly: not activity), or
    /// once no card is busy.
    fn heard(self) {
        if self.busy.with_untracked(Vec::is_empty) {
            self.fetch(true);
        } else {
            self.stale.set_value(true);
        }
    }

    /// `client_id`'s card is busy so (or, `None`, no longer).
    pub(super) fn set_busy(self, client_id: &str, busy: Option<Busy>) {
        let now = self
            .busy
            .with_untracked(|b| b.iter().find(|(id, _)| id == client_id).map(|(_, k)| *k));
        if now == busy {
            return;
        }
        self.busy.update(|b| {
            b.retain(|(id, _)| id != client_id);
            if let Some(k) = busy {
                b.push((client_id.to_owned(), k));
            }
        });
        if self.busy.with_untracked(Vec::is_empty) && self.stale.get_value() {
            self.stale.set_value(false);
            self.fetch(true);
        }
    }

    /// Fetches the project again and shows its clients as they are now:
    /// after the person's own change.
    pub(super) fn refresh(self) {
        self.fetch(false);
    }

    /// `quiet`: for a change heard elsewhere (not activity; busy cards of
    /// either kind kept). Otherwise only cards with an action under way
    /// are kept.
    fn fetch(self, quiet: bool) {
        let id = self.project_id.get_value();
        self.fetches.update_value(|n| *n += 1);
        let this_one = self.fetches.get_value();
        spawn_local(async move {
            let fetched = if quiet {
                project_refresh(id).await
            } else {
                get_project(id).await
            };
            if self.fetches.get_value() != this_one {
                return;
            }
            match fetched {
                Ok(d) => {
                    let mut clients = d.clients;
                    let kept = self.keep_busy(&mut clients, quiet);
                    if kept {
                        self.stale.set_value(true);
                    }
                    self.error.set(None);
                    self.now.set(d.now);
                    self.clients.set(clients);
                }
                Err(e) => self.error.set(Some(e)),
            }
        });
    }

    /// Puts back the busy cards as shown; whether any was.
    fn keep_busy(self, clients: &mut [ClientInfo], quiet: bool) -> bool {
        let busy = self.busy.get_untracked();
        let shown = self.clients.get_untracked();
        let mut kept = false;
        for c in clients.iter_mut() {
            let keep = busy
                .iter()
                .any(|(id, k)| *id == c.id && (quiet || *k == Busy::Acting));
            if let Some(old) = shown.iter().find(|o| o.id == c.id).filter(|_| keep) {
                kept |= old != c;
                *c = old.clone();
            }
        }
        kept
    }
}

#[island(lazy)]
pub(super) fn ClientsSection(
    project_id: String,
    clients: Vec<ClientInfo>,
    groups: Vec<ScopeGroup>,
    can_manage: bool,
    now: i64,
    /// What a workload is told to ask its platform for by default: this
    /// server's issuer identifier.
    audience: String,
    /// No secret may be made: the form offers keys and workloads only.
    keys_only: bool,
) -> impl IntoView {
    crate::island_hydrated("ClientsSection");
    let list = ClientList {
        project_id: StoredValue::new(project_id.clone()),
        clients: RwSignal::new(clients),
        now: RwSignal::new(now),
        error: RwSignal::new(None),
        busy: RwSignal::new(Vec::new()),
        stale: StoredValue::new(false),
        fetches: StoredValue::new(0),
    };
    provide_context(list);
    // A client changed on any node, or its tokens moved: shown without a
    // reload.
    crate::live::listen(&project_id, &["clients", "usage", "project"], move || {
        list.heard()
    });
    // Outside the list, so a refresh cannot lose it.
    let new_secret = RwSignal::new(None::<NewClient>);
    provide_context(new_secret);
    provide_context(WorkloadAudience(StoredValue::new(audience.clone())));
    let card_groups = groups.clone();
    erased_on_server(view! {
        {move || new_secret.get().map(|n| view! { <SecretPanel n new_secret /> })}
        <section class="card">
            <div class="card-head">
                <h2>"Clients"</h2>
                <span class="hint" data-test-id="clients-live">"Changes made anywhere show here as they happen."</span>
            </div>
            <FormError error=list.error.into() />
            {move || {
                let clients = list.clients.get();
                view! {
                    {clients.is_empty().then(|| view! {
                        <p class="muted" data-test-id="no-clients">"No clients yet. Create one below with only the scopes this integration needs."</p>
                    })}
                    {rotation_notice(&clients)}
                }
            }}
            // Keyed by what a card shows: a card whose client did not
            // change is kept as it is (its focus, its messages).
            <div class="clients">
                <For each=move || list.clients.get() key=|c| c.clone() let:c>
                    <ClientCard c groups=card_groups.clone() can_manage now=list.now.get_untracked() />
                </For>
            </div>
        </section>
        {can_manage.then(|| view! { <NewClientCard project_id groups new_secret audience keys_only /> })}
    })
}

/// The one time a secret is shown; for a key client, its id and how it
/// signs in.
#[component]
fn SecretPanel(n: NewClient, new_secret: RwSignal<Option<NewClient>>) -> impl IntoView {
    let id = n.client.id.clone();
    let Some(secret) = n.client_secret.clone() else {
        return view! {
            <section class="card secret-panel" role="status" data-test-id="key-client-panel">
                {if n.client.workload.is_some() { view! {
                    <h2>"Workload client created: nothing to copy but its id"</h2>
                    <p>"The workload sends its platform's token as client_assertion (client_assertion_type urn:ietf:params:oauth:client-assertion-type:jwt-bearer) together with this client_id. Ask the platform for a token with the audience you set."</p>
                }.into_any() } else { view! {
                    <h2>"Key client created: no secret to copy"</h2>
                    <p>"It signs in with its private key (private_key_jwt, RFC 7523): a JWT with iss and sub set to the client id, aud the issuer or the token endpoint, a unique jti and at most five minutes of life, sent as client_assertion. Portcullis never sees the private key."</p>
                }.into_any() }}
                <dl class="details">
                    <dt>"Client id"</dt>
                    <dd><code data-test-id="new-client-id">{id.clone()}</code> " "
                        <CopyButton text=id label="Copy id" /></dd>
                </dl>
                <button type="button" class="button" on:click=move |_| new_secret.set(None) data-test-id="secret-done">
                    "Done"
                </button>
            </section>
        }
        .into_any();
    };
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
    .into_any()
}

/// Two live long-lived clients: a rotation is under way.
fn rotation_notice(clients: &[ClientInfo]) -> Option<impl IntoView> {
    let live: Vec<&ClientInfo> = clients
        .iter()
        .filter(|c| c.status == ClientStatus::Active && c.expires_at.is_none())
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

const DEFAULT_NAME: &str = "Primary";

#[component]
fn NewClientCard(
    project_id: String,
    groups: Vec<ScopeGroup>,
    new_secret: RwSignal<Option<NewClient>>,
    audience: String,
    keys_only: bool,
) -> impl IntoView {
    let list = expect_context::<ClientList>();
    let workload = WorkloadForm::new(audience);
    let name = RwSignal::new(DEFAULT_NAME.to_string());
    let lifetime = RwSignal::new(String::new());
    let selected = RwSignal::new(Vec::<String>::new());
    // "secret", "key" (pasted), "uri" (a JWK Set the partner hosts) or
    // "workload" (a workload identity trust).
    let auth = RwSignal::new(if keys_only { "key" } else { "secret" });
    let public_keys = RwSignal::new(String::new());
    let jwks_uri = RwSignal::new(String::new());
    let action = ServerAction::<CreateClient>::new();
    let error = last_error(action);
    on_success(action, move |n| {
        new_secret.set(Some(n));
        list.refresh();
        // A fresh form for the next client: nothing ticked for you.
        name.set(DEFAULT_NAME.into());
        lifetime.set(String::new());
        selected.set(Vec::new());
        public_keys.set(String::new());
        jwks_uri.set(String::new());
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(CreateClient {
            project_id: project_id.clone(),
            client_name: name.get_untracked(),
            scopes: selected.get_untracked(),
            expires_in_hours: lifetime.get_untracked(),
            public_keys: match auth.get_untracked() {
                "key" => public_keys.get_untracked(),
                _ => String::new(),
            },
            jwks_uri: match auth.get_untracked() {
                "uri" => jwks_uri.get_untracked(),
                _ => String::new(),
            },
            workload: (auth.get_untracked() == "workload").then(|| workload.fields()),
        });
    };
    erased_on_server(view! {
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
                    <select id="client_lifetime" prop:value=move || lifetime.get()
                        on:change=move |ev| lifetime.set(event_target_value(&ev))
                        aria-describedby="lifetime-hint" data-test-id="client-lifetime">
                        <option value="" selected>"Long-lived (rotate it when needed)"</option>
                        <option value="1">"Temporary: 1 hour"</option>
                        <option value="24">"Temporary: 1 day"</option>
                        <option value="168">"Temporary: 7 days"</option>
                        <option value="720">"Temporary: 30 days"</option>
                    </select>
                    <p id="lifetime-hint" class="hint">"A temporary client suits a one-off task: it stops working at its expiry, and no token outlives it."</p>
                </div>
                <fieldset class="field">
                    <legend>"How it signs in"</legend>
                    {(!keys_only).then(|| view! {
                    <label><input type="radio" name="client_auth" prop:checked=move || auth.get() == "secret"
                        on:change=move |_| auth.set("secret") data-test-id="auth-secret" />
                        " A secret, shown once"</label>
                    })}
                    <label><input type="radio" name="client_auth" prop:checked=move || auth.get() == "key"
                        on:change=move |_| auth.set("key") data-test-id="auth-key" />
                        " A public key (private_key_jwt): nothing secret is stored here or sent over the wire"</label>
                    <label><input type="radio" name="client_auth" prop:checked=move || auth.get() == "uri"
                        on:change=move |_| auth.set("uri") data-test-id="auth-jwks-uri" />
                        " Public keys the partner publishes at a URL (a JWK Set), rotated on their side"</label>
                    <label><input type="radio" name="client_auth" prop:checked=move || auth.get() == "workload"
                        on:change=move |_| auth.set("workload") data-test-id="auth-workload" />
                        " Its platform's identity (GitHub Actions, GitLab CI, Kubernetes, SPIFFE): no secret and no key at all"</label>
                </fieldset>
                {move || (auth.get() == "workload").then(|| view! {
                    <WorkloadTrustFields form=workload id_prefix="new-workload" />
                })}
                {move || (auth.get() == "uri").then(|| view! {
                    <div class="field">
                        <label for="jwks_uri">"JWK Set URL"</label>
                        <input id="jwks_uri" type="url" required placeholder="https://keys.partner.example/jwks.json"
                            prop:value=move || jwks_uri.get() on:input=move |ev| jwks_uri.set(event_target_value(&ev))
                            data-test-id="jwks-uri" />
                        <p class="hint">"Fetched now to check it, then cached for 5 minutes; a new kid is picked up within seconds."</p>
                    </div>
                })}
                {move || (auth.get() == "key").then(|| view! {
                    <div class="field">
                        <label for="public_keys">"Public key"</label>
                        <textarea id="public_keys" rows="6" required prop:value=move || public_keys.get()
                            on:input=move |ev| public_keys.set(event_target_value(&ev))
                            aria-describedby="public-keys-hint" data-test-id="public-keys"></textarea>
                        <p id="public-keys-hint" class="hint">"Paste a JWK, a JWK Set or a PEM public key (EC P-256, RSA 2048+ or Ed25519); two keys during a rotation. Never the private key."</p>
                    </div>
                })}
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
    })
}
