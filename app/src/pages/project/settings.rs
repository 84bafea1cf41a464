//! The project's settings (name, description, token lifetime) and the
//! archive button, as an island: archiving reloads the page, which the
//! server then renders as archived.

use leptos::either::Either;
use leptos::prelude::*;
use server_fn::ServerFn;

use crate::pages::boundary::erased_on_server;
use crate::pages::form::{on_success, submit_to, FormError};
use crate::pages::reload::reload_page;
use crate::projects::{ArchiveProject, UpdateProject};

#[island(lazy)]
pub(super) fn SettingsCard(
    id: String,
    name: String,
    description: String,
    ttl: i64,
) -> impl IntoView {
    crate::island_hydrated("SettingsCard");
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
    on_success(archive, |_| reload_page());
    let archive_id = id.clone();
    erased_on_server(view! {
        <section class="card">
            <h2>"Settings"</h2>
            <form action=UpdateProject::url() method="post" on:submit=submit_to(update) data-test-id="settings-form">
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
            </form>
            <div class="danger-zone">
                <h3>"Archive this project"</h3>
                <p class="hint">"Its clients stop getting tokens at once and its tokens stop being accepted. This cannot be undone from the console."</p>
                {move || if confirming.get() {
                    let id = archive_id.clone();
                    Either::Left(view! {
                        <p><strong>"Archive now? Every integration using this project stops working."</strong></p>
                        <button type="button" class="button danger" data-test-id="confirm-archive"
                            on:click=move |_| { archive.dispatch(ArchiveProject { id: id.clone() }); }>"Archive project"</button>
                        " "
                        <button type="button" class="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
                    })
                } else {
                    Either::Right(view! {
                        <button type="button" class="button danger" on:click=move |_| confirming.set(true)
                            data-test-id="archive">"Archive project…"</button>
                    })
                }}
            </div>
        </section>
    })
}
