//! "Keys only" for a project, as an island: what it means, how many
//! clients still hold a secret, and the switch. A change reloads the page,
//! which the server renders with the new-client form to match.

use leptos::prelude::*;

use crate::pages::boundary::erased_on_server;
use crate::pages::form::{last_error, on_success, FormError};
use crate::pages::reload::reload_page;
use crate::projects::SetKeysOnly;

#[island(lazy)]
pub(super) fn KeysOnlyCard(id: String, keys_only: bool, secret_clients: i64) -> impl IntoView {
    crate::island_hydrated("KeysOnlyCard");
    let action = ServerAction::<SetKeysOnly>::new();
    let error = last_error(action);
    on_success(action, |_| reload_page());
    let toggle = move |_| {
        action.dispatch(SetKeysOnly {
            id: id.clone(),
            keys_only: !keys_only,
        });
    };
    erased_on_server(view! {
        <section class="card" data-test-id="keys-only-card">
            <h2>"Keys only"</h2>
            <p class="hint">"A keys-only project holds no secrets: its clients sign in with a public key or their platform's identity, and every token it mints is bound to a key the client holds (DPoP), so a token copied from a log is useless on its own. This is what FAPI 2.0 asks of regulated APIs."</p>
            <FormError error />
            {if keys_only {
                view! {
                    <p data-test-id="keys-only-state"><strong>"This project is keys only."</strong>
                        " No secret can be made in it, and token requests without a DPoP proof are refused."</p>
                }.into_any()
            } else {
                view! {
                    <p data-test-id="keys-only-state">{match secret_clients {
                        0 => "No client of this project holds a secret: it can be made keys only.".to_string(),
                        1 => "1 client of this project still holds a secret: give the integration a key or workload client and retire it first.".to_string(),
                        n => format!("{n} clients of this project still hold a secret: give the integrations key or workload clients and retire them first."),
                    }}</p>
                }.into_any()
            }}
            <button type="button" class="button" on:click=toggle disabled=move || action.pending().get()
                data-test-id="toggle-keys-only">
                {if keys_only { "Allow secrets again" } else { "Make this project keys only" }}</button>
        </section>
    })
}
