//! The pages a signed-out visitor can see: log in (and its code step),
//! sign up, and a password reset link's page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

use super::boundary::erased_on_server;
use super::form::{last_error, submit_to, Field, FormError};
use crate::auth::{LogIn, LogInCode, SignUp};
use crate::team::{password_reset_preview, PasswordReset, ResetPreviewInfo};

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
    let query = use_query_map().read_untracked();
    let next = query.get("next").unwrap_or_default();
    let notice = if query.get("signed_up").is_some() {
        Some("Your account is ready: log in with the email and password you chose. (If that email already had a Portcullis login, no second account was made and its password is unchanged: use that password.)")
    } else if query.get("joined").is_some() {
        Some("Log in with the email and password you chose to join the account. (If that email already had a Portcullis login, it was not added to another account and its password is unchanged.)")
    } else if query.get("reset").is_some() {
        Some("Your password is set. Log in with it; your earlier sessions have ended.")
    } else {
        None
    };
    erased_on_server(view! {
        <Title text="Log in" />
        <AuthFrame title="Log in to your console">
            {notice.map(|n| view! { <p class="notice" role="status" data-test-id="auth-notice">{n}</p> })}
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
    crate::island_hydrated("LoginForm");
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
    crate::island_hydrated("SignupForm");
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

/// The log-in's second step, for users with a second factor.
#[component]
pub fn CodePage() -> impl IntoView {
    erased_on_server(view! {
        <Title text="Two-factor authentication" />
        <AuthFrame title="Enter your code">
            <p>"Open your authenticator app and type the 6-digit code it shows for Portcullis. Lost your phone? Type one of your recovery codes instead."</p>
            <CodeForm />
            <p class="auth-switch"><A href="/login">"Start again"</A></p>
        </AuthFrame>
    })
}

#[island]
fn CodeForm() -> impl IntoView {
    crate::island_hydrated("CodeForm");
    let action = ServerAction::<LogInCode>::new();
    let error = last_error(action);
    erased_on_server(view! {
        <form action=LogInCode::url() method="post" on:submit=submit_to(action)>
            <FormError error />
            <Field id="code" label="Code" autocomplete="one-time-code" maxlength="16" error />
            <Submit pending=action.pending() idle="Continue" busy="Checking…" />
        </form>
    })
}

/// `/reset#<token>`: a member sets a new password with an owner's link.
#[component]
pub fn ResetPage() -> impl IntoView {
    erased_on_server(view! {
        <Title text="Set a new password" />
        <AuthFrame title="Set a new password">
            <ResetForm />
        </AuthFrame>
    })
}

/// Reads the link's token from the fragment (which no server sees), shows
/// whose password it sets, and takes the new one.
#[island]
fn ResetForm() -> impl IntoView {
    crate::island_hydrated("ResetForm");
    use leptos::either::EitherOf3;
    use leptos::task::spawn_local;
    let token = RwSignal::new(String::new());
    let preview = RwSignal::new(None::<Result<ResetPreviewInfo, crate::error::ConsoleError>>);
    Effect::new(move |_| {
        let hash = window().location().hash().unwrap_or_default();
        let t = hash.trim_start_matches('#').to_owned();
        token.set(t.clone());
        spawn_local(async move { preview.set(Some(password_reset_preview(t.into()).await)) });
    });
    let action = ServerAction::<PasswordReset>::new();
    let error = last_error(action);
    let password = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(PasswordReset {
            token: token.get_untracked().into(),
            password: password.get_untracked().into(),
        });
    };
    erased_on_server(view! {
        {move || match preview.get() {
            None => EitherOf3::A(view! { <p data-test-id="reset-loading">"Checking the link…"</p> }),
            Some(Err(e)) => EitherOf3::B(view! { <p class="form-error" role="alert" data-test-id="reset-invalid">{e.to_string()}</p> }),
            Some(Ok(p)) => EitherOf3::C(view! {
                <p data-test-id="reset-preview">"A new password for " <strong>{p.email}</strong> " in " <strong>{p.account_name}</strong> "."</p>
                <form on:submit=submit>
                    <FormError error />
                    <div class="field">
                        <label for="reset-password">"New password"</label>
                        <input id="reset-password" type="password" required minlength="12" maxlength="128"
                            autocomplete="new-password" on:input=move |ev| password.set(event_target_value(&ev)) />
                        <p class="hint">"12 to 128 characters. Every session of yours ends."</p>
                    </div>
                    <button type="submit" class="button primary wide" data-test-id="reset-submit"
                        disabled=move || action.pending().get()>"Set password"</button>
                </form>
            }),
        }}
    })
}
