//! The two pages a signed-out visitor can see: log in and sign up.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::auth::{LogIn, SignUp};
use crate::error::ConsoleError;

/// The error of the last submission, as an alert the screen reader announces.
#[component]
fn FormError(error: Signal<Option<ConsoleError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! {
                <div class="form-error" role="alert" data-test-id="form-error">
                    {e.to_string()}
                </div>
            }
        })
    }
}

#[component]
fn AuthFrame(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="auth-page">
            <main class="auth-card">
                <div class="auth-brand" aria-hidden="true">
                    <span class="brand-mark"></span>
                    "Portcullis"
                </div>
                <h1>{title}</h1>
                {children()}
            </main>
        </div>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<LogIn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let pending = action.pending();

    view! {
        <Title text="Log in" />
        <AuthFrame title="Log in to your console">
            <ActionForm action=action>
                <FormError error />
                <input type="hidden" name="next" prop:value=next />
                <div class="field">
                    <label for="email">"Email"</label>
                    <input
                        id="email"
                        name="email"
                        type="email"
                        autocomplete="username"
                        required
                        data-test-id="email"
                    />
                </div>
                <div class="field">
                    <label for="password">"Password"</label>
                    <input
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                        data-test-id="password"
                    />
                </div>
                <button
                    type="submit"
                    class="button primary wide"
                    disabled=move || pending.get()
                    data-test-id="submit"
                >
                    {move || if pending.get() { "Logging in…" } else { "Log in" }}
                </button>
            </ActionForm>
            <p class="auth-switch">
                "New to Portcullis? " <A href="/signup">"Create an account"</A>
            </p>
        </AuthFrame>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let pending = action.pending();
    let field_error = move |field: &'static str| {
        move || {
            error
                .get()
                .filter(|e| e.field() == Some(field))
                .map(|_| "true")
        }
    };

    view! {
        <Title text="Create your account" />
        <AuthFrame title="Create your Portcullis account">
            <ActionForm action=action>
                <FormError error />
                <div class="field">
                    <label for="account_name">"Organisation name"</label>
                    <input
                        id="account_name"
                        name="account_name"
                        type="text"
                        autocomplete="organization"
                        maxlength="80"
                        required
                        aria-invalid=field_error("account_name")
                        data-test-id="account-name-input"
                    />
                </div>
                <div class="field">
                    <label for="email">"Work email"</label>
                    <input
                        id="email"
                        name="email"
                        type="email"
                        autocomplete="username"
                        required
                        aria-invalid=field_error("email")
                        data-test-id="email"
                    />
                </div>
                <div class="field">
                    <label for="password">"Password"</label>
                    <input
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="new-password"
                        minlength="12"
                        maxlength="128"
                        required
                        aria-describedby="password-hint"
                        aria-invalid=field_error("password")
                        data-test-id="password"
                    />
                    <p id="password-hint" class="hint">
                        "12 to 128 characters. A passphrase of a few words is easiest."
                    </p>
                </div>
                <button
                    type="submit"
                    class="button primary wide"
                    disabled=move || pending.get()
                    data-test-id="submit"
                >
                    {move || if pending.get() { "Creating account…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p class="auth-switch">"Already have an account? " <A href="/login">"Log in"</A></p>
        </AuthFrame>
    }
}
