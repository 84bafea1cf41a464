//! The panels a client card opens: narrow its scopes, mint a test token,
//! retire it. Each refreshes the clients list after a change.

use leptos::prelude::*;

use super::clients::ClientList;
use crate::format;
use crate::pages::form::{last_error, on_success, FormError};
use crate::pages::widgets::{CopyButton, ScopeChecklist};
use crate::projects::{MintTestToken, NarrowClient, RetireClient, ScopeGroup, SetClientKeys};

#[component]
pub(super) fn RetirePanel(client_id: String, recently_used: Option<i64>) -> impl IntoView {
    let list = expect_context::<ClientList>();
    let action = ServerAction::<RetireClient>::new();
    let error = last_error(action);
    let when = RwSignal::new(String::new());
    on_success(action, move |_| list.refresh());
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

/// A key client's keys, replaced as a whole: during a rotation the old
/// and the new key, then the new key alone.
#[component]
pub(super) fn KeysPanel(client_id: String) -> impl IntoView {
    let list = expect_context::<ClientList>();
    let action = ServerAction::<SetClientKeys>::new();
    let error = last_error(action);
    let keys = RwSignal::new(String::new());
    let uri = RwSignal::new(String::new());
    on_success(action, move |_| list.refresh());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(SetClientKeys {
            client_id: client_id.clone(),
            public_keys: keys.get_untracked(),
            jwks_uri: uri.get_untracked(),
        });
    };
    view! {
        <form class="panel" on:submit=submit data-test-id="keys-form">
            <h4>"Change this client's public keys"</h4>
            <p class="hint">"To rotate without downtime: give the old and the new key (a JWK Set of two, or two PEM blocks), move the workload to the new private key, then give the new key alone. Tokens already issued stay good until they expire."</p>
            <FormError error />
            <div class="field">
                <label for="new_public_keys">"Public keys"</label>
                <textarea id="new_public_keys" rows="6" prop:value=move || keys.get()
                    on:input=move |ev| keys.set(event_target_value(&ev)) data-test-id="new-public-keys"></textarea>
            </div>
            <div class="field">
                <label for="new_jwks_uri">"Or the URL of a JWK Set the partner publishes"</label>
                <input id="new_jwks_uri" type="url" prop:value=move || uri.get()
                    on:input=move |ev| uri.set(event_target_value(&ev)) data-test-id="new-jwks-uri" />
            </div>
            <button type="submit" class="button" disabled=move || action.pending().get() data-test-id="save-keys">"Save keys"</button>
        </form>
    }
}

#[component]
pub(super) fn NarrowPanel(
    client_id: String,
    scopes: Vec<String>,
    groups: Vec<ScopeGroup>,
) -> impl IntoView {
    let list = expect_context::<ClientList>();
    let selected = RwSignal::new(scopes.clone());
    let action = ServerAction::<NarrowClient>::new();
    let error = last_error(action);
    on_success(action, move |_| list.refresh());
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
pub(super) fn MintPanel(
    client_id: String,
    scopes: Vec<String>,
    groups: Vec<ScopeGroup>,
) -> impl IntoView {
    let selected = RwSignal::new(Vec::<String>::new());
    let action = ServerAction::<MintTestToken>::new();
    let error = last_error(action);
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
