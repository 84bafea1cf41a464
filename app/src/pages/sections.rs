//! Settings: the account and the signed-in user as they are.

use leptos::prelude::*;
use leptos_meta::Title;

use super::boundary::erased_on_server;
use super::console::MeResource;

#[component]
fn PageHeader(title: &'static str, lede: &'static str) -> impl IntoView {
    view! {
        <Title text=title />
        <header class="page-header">
            <h1 data-test-id="page-title">{title}</h1>
            <p class="lede">{lede}</p>
        </header>
    }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let me = expect_context::<MeResource>();
    erased_on_server(view! {
        <PageHeader title="Settings" lede="Your account and your sign-in." />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                me.await
                    .ok()
                    .map(|me| {
                        view! {
                            <section class="card">
                                <h2>"Account"</h2>
                                <dl class="details">
                                    <dt>"Organisation"</dt>
                                    <dd data-test-id="settings-account-name">{me.account_name}</dd>
                                    <dt>"Account id"</dt>
                                    <dd>
                                        <code>{me.account_id}</code>
                                    </dd>
                                </dl>
                            </section>
                            <section class="card">
                                <h2>"You"</h2>
                                <dl class="details">
                                    <dt>"Email"</dt>
                                    <dd data-test-id="settings-email">{me.email}</dd>
                                    <dt>"Role"</dt>
                                    <dd>
                                        <span class="role-badge">{me.role}</span>
                                    </dd>
                                </dl>
                            </section>
                        }
                    })
            })}
        </Suspense>
    })
}
