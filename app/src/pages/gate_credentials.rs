//! The staff page's gate credentials: list, make one for an API (its secret
//! shown once, with the settings a gate needs), revoke. One island, so the
//! secret stays on screen while the list is fetched again.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos::task::spawn_local;
use server_fn::ServerFn;

use super::boundary::erased_on_server;
use super::form::{last_error, on_success, submit_to, FormError};
use super::widgets::{CopyButton, When};
use crate::error::ConsoleError;
use crate::gate_credentials::{
    staff_gates, GateCredentialInfo, GatesView, NewGateCredential, StaffGateCreate, StaffGateRevoke,
};

#[island(lazy)]
pub fn GateCredentials() -> impl IntoView {
    crate::island_hydrated("GateCredentials");
    let view_data = RwSignal::new(None::<Result<GatesView, ConsoleError>>);
    let refresh = move || spawn_local(async move { view_data.set(Some(staff_gates().await)) });
    // Fetched in the browser once the island is alive (effects never run
    // while the server renders): nothing here for the page to wait for.
    Effect::new(move |_| refresh());
    let new_secret = RwSignal::new(None::<NewGateCredential>);
    let create = ServerAction::<StaffGateCreate>::new();
    let create_error = last_error(create);
    on_success(create, move |made| {
        new_secret.set(Some(made));
        refresh();
    });
    let revoke = ServerAction::<StaffGateRevoke>::new();
    let revoke_error = last_error(revoke);
    on_success(revoke, move |_| refresh());
    erased_on_server(view! {
        <section class="card" data-test-id="gate-credentials">
            <h2>"Gate credentials"</h2>
            <p class="muted">"A resource server's gate in another process (" <code>"portcullis gate"</code>
                ", or the Rust library) follows one API's revocation feed with one of these. It reads that API's feed and nothing else."</p>
            {move || new_secret.get().map(|n| view! { <GateSecret n new_secret /> })}
            <FormError error=revoke_error />
            {move || match view_data.get() {
                None => EitherOf3::A(()),
                Some(Err(e)) => EitherOf3::B(view! { <p class="form-error" role="alert">{e.to_string()}</p> }),
                Some(Ok(v)) => EitherOf3::C(view! {
                    <CredentialTable credentials=v.credentials.clone() revoke />
                    <form action=StaffGateCreate::url() method="post" on:submit=submit_to(create)
                        class="inline-form" data-test-id="gate-create-form">
                        <FormError error=create_error />
                        <div class="field">
                            <label for="gate-api">"API"</label>
                            <select id="gate-api" name="api_id" data-test-id="gate-api">
                                {v.apis.into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                            </select>
                        </div>
                        <div class="field">
                            <label for="gate-name">"Where it runs"</label>
                            <input id="gate-name" name="name" type="text" maxlength="80" required
                                placeholder="partner-api nginx, eu-west" data-test-id="gate-name" />
                        </div>
                        <button type="submit" class="button primary" data-test-id="gate-create"
                            disabled=move || create.pending().get()>"Make a gate credential"</button>
                    </form>
                }),
            }}
        </section>
    })
}

#[component]
fn CredentialTable(
    credentials: Vec<GateCredentialInfo>,
    revoke: ServerAction<StaffGateRevoke>,
) -> impl IntoView {
    if credentials.is_empty() {
        return Either::Left(
            view! { <p class="muted" data-test-id="gate-none">"No gate credentials yet."</p> },
        );
    }
    Either::Right(view! {
        <table class="table stack" data-test-id="gate-list">
            <thead><tr><th scope="col">"Credential"</th><th scope="col">"API"</th><th scope="col">"Made"</th><th scope="col">"State"</th></tr></thead>
            <tbody>
                {credentials.into_iter().map(|g| {
                    let id = g.id.clone();
                    let shown = g.id.clone();
                    view! {
                        <tr data-test-id="gate-row" data-gate-id=g.id>
                            <td data-label="Credential">{g.name}" "<code class="muted">{shown}</code></td>
                            <td data-label="API">{g.api_name}</td>
                            <td data-label="Made"><When at=Some(g.created_at) />" by "{g.created_by}</td>
                            <td data-label="State">{match g.revoked_at {
                                Some(at) => Either::Left(view! { <span class="badge muted" data-test-id="gate-state">"Revoked "<When at=Some(at) /></span> }),
                                None => Either::Right(view! {
                                    <span class="badge ok" data-test-id="gate-state">"Live"</span>" "
                                    <button type="button" class="button small danger" data-test-id="gate-revoke"
                                        on:click=move |_| { revoke.dispatch(StaffGateRevoke { id: id.clone() }); }>
                                        "Revoke"</button>
                                }),
                            }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    })
}

/// The one time a gate credential's secret is shown.
#[component]
fn GateSecret(
    n: NewGateCredential,
    new_secret: RwSignal<Option<NewGateCredential>>,
) -> impl IntoView {
    let env = format!("GATE_CLIENT_ID={}\nGATE_CLIENT_SECRET={}", n.id, n.secret);
    view! {
        <div class="secret-panel" role="status" data-test-id="gate-secret-panel">
            <h3>"Gate credential made: copy its secret now"</h3>
            <p>"This is the only time the secret is shown; Portcullis keeps only a keyed hash of it. Give the gate these settings:"</p>
            <pre class="code" data-test-id="gate-env">{env.clone()}</pre>
            <CopyButton text=env label="Copy settings" />" "
            <button type="button" class="button" on:click=move |_| new_secret.set(None) data-test-id="gate-secret-done">
                "I have stored the secret"</button>
        </div>
    }
}
