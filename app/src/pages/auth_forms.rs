//! The two pages a signed-out visitor can see: log in and sign up.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

use super::boundary::erased_on_server;
use super::form::{last_error, submit_to, Field, FormError};
use crate::auth::{LogIn, SignUp};

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

/// The submit button, which says what is happening while the request runs.
#[component]
fn Submit(pending: Memo<bool>, idle: &'static str, busy: &'static str) -> impl IntoView {
    view! {
        <button
            type="submit"
            class="button primary wide"
            disabled=move || pending.get()
            data-test-id="submit"
        >
            {move || if pending.get() { busy } else { idle }}
        </button>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let next = use_query_map()
        .read_untracked()
        .get("next")
        .unwrap_or_default();
    erased_on_server(view! {
        <Title text="Log in" />
        <AuthFrame title="Log in to your console">
            <LoginForm next />
            <p class="auth-switch">
                "New to Portcullis? " <A href="/signup">"Create an account"</A>
            </p>
        </AuthFrame>
    })
}

/// The log-in form. The server answers a success with a redirect, which the
/// browser follows.
#[island]
fn LoginForm(next: String) -> impl IntoView {
    let action = ServerAction::<LogIn>::new();
    let error = last_error(action);
    erased_on_server(view! {
        <form action=LogIn::url() method="post" on:submit=submit_to(action)>
            <FormError error />
            <input type="hidden" name="next" value=next />
            <Field id="email" label="Email" kind="email" autocomplete="username" />
            <Field
                id="password"
                label="Password"
                kind="password"
                autocomplete="current-password"
            />
            <Submit pending=action.pending() idle="Log in" busy="Logging in…" />
        </form>
    })
}

#[component]
pub fn SignupPage() -> impl IntoView {
    erased_on_server(view! {
        <Title text="Create your account" />
        <AuthFrame title="Create your Portcullis account">
            <SignupForm />
            <p class="auth-switch">"Already have an account? " <A href="/login">"Log in"</A></p>
        </AuthFrame>
    })
}

#[island]
fn SignupForm() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = last_error(action);
    erased_on_server(view! {
        <form action=SignUp::url() method="post" on:submit=submit_to(action)>
            <FormError error />
            <Field
                id="account_name"
                label="Organisation name"
                autocomplete="organization"
                maxlength="80"
                test_id="account-name-input"
                error
            />
            <Field
                id="email"
                label="Work email"
                kind="email"
                autocomplete="username"
                error
            />
            <Field
                id="password"
                label="Password"
                kind="password"
                autocomplete="new-password"
                minlength="12"
                maxlength="128"
                hint="12 to 128 characters. A passphrase of a few words is easiest."
                error
            />
            <Submit pending=action.pending() idle="Create account" busy="Creating account…" />
        </form>
    })
}
