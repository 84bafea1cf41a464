//! `/security` (members, in the console) and `/staff/security` (staff):
//! password change, the second factor and its recovery codes, and for
//! owners the account-wide requirement.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;

use super::boundary::erased_on_server;
use super::console::LogOutButton;
use super::form::{last_error, on_success, FormError};
use crate::error::ConsoleError;
use crate::security::{
    security, PasswordChange, RecoveryCodesNew, SecondFactorBegin, SecondFactorConfirm,
    SecondFactorOff, SecondFactorRequire, SecurityView, SetUp,
};

#[component]
pub fn SecurityPage() -> impl IntoView {
    erased_on_server(view! {
        <Title text="Security" />
        <header class="page-header">
            <h1 data-test-id="page-title">"Security"</h1>
            <p class="lede">"Your password and your second factor."</p>
        </header>
        <SecurityLoader />
    })
}

/// The same page for support staff, outside any account's console.
#[component]
pub fn StaffSecurityPage() -> impl IntoView {
    erased_on_server(view! {
        <Title text="Security · Staff" />
        <div class="console staff">
            <header class="topbar">
                <a class="brand" href=crate::auth::STAFF_HOME><span class="brand-mark" aria-hidden="true"></span>"Portcullis support"</a>
                <LogOutButton />
            </header>
            <main id="main" class="content staff-content">
                <header class="page-header">
                    <h1 data-test-id="page-title">"Security"</h1>
                    <p class="lede">"Your password and your second factor. "
                        <a href=crate::auth::STAFF_HOME>"Back to the staff console"</a></p>
                </header>
                <SecurityLoader />
            </main>
        </div>
    })
}

#[component]
fn SecurityLoader() -> impl IntoView {
    let data = Resource::new(|| (), |_| security());
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(v) => view! { <SecuritySection v /> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The whole page's interactive part; fetched again after each change,
/// while codes shown once stay on screen.
#[island(lazy)]
fn SecuritySection(v: SecurityView) -> impl IntoView {
    crate::island_hydrated("SecuritySection");
    let data = RwSignal::new(v);
    let codes = RwSignal::new(None::<Vec<String>>);
    let refresh = move || {
        spawn_local(async move {
            if let Ok(v) = security().await {
                data.set(v);
            }
        });
    };
    erased_on_server(view! {
        {move || data.get().must_set_up.map(|why| view! {
            <p class="notice bad" role="alert" data-test-id="must-set-up">{why}</p>
        })}
        {move || codes.get().map(|c| view! { <RecoveryCodes codes=c done=codes /> })}
        {move || view! { <SecondFactorCard v=data.get() codes refresh /> }}
        <PasswordCard />
        {move || {
            let v = data.get();
            v.owner.then(|| view! { <RequireCard v refresh /> })
        }}
    })
}

#[component]
fn RecoveryCodes(codes: Vec<String>, done: RwSignal<Option<Vec<String>>>) -> impl IntoView {
    view! {
        <section class="card secret-panel" role="status" data-test-id="recovery-codes">
            <h2>"Recovery codes: save them now"</h2>
            <p>"Each works once, in place of a code from your app, if you lose your phone. They are not shown again."</p>
            <ul class="code-list">
                {codes.into_iter().map(|c| view! { <li><code data-test-id="recovery-code">{c}</code></li> }).collect_view()}
            </ul>
            <button type="button" class="button" data-test-id="codes-done" on:click=move |_| done.set(None)>"I saved them"</button>
        </section>
    }
}

#[component]
fn SecondFactorCard(
    v: SecurityView,
    codes: RwSignal<Option<Vec<String>>>,
    refresh: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Two-factor authentication"</h2>
            {if v.second_factor {
                view! { <SecondFactorOn v codes refresh /> }.into_any()
            } else {
                view! { <SecondFactorSetUp codes refresh /> }.into_any()
            }}
        </section>
    }
}

#[component]
fn SecondFactorSetUp(
    codes: RwSignal<Option<Vec<String>>>,
    refresh: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let begin = ServerAction::<SecondFactorBegin>::new();
    let confirm = ServerAction::<SecondFactorConfirm>::new();
    let set_up = RwSignal::new(None::<SetUp>);
    let code = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    on_success(begin, move |s| set_up.set(Some(s)));
    on_success(confirm, move |c| {
        set_up.set(None);
        codes.set(Some(c));
        refresh();
    });
    let error = Signal::derive(move || {
        confirm
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| begin.value().get().and_then(Result::err))
    });
    view! {
        <p data-test-id="second-factor-state">"Off. With it on, signing in also asks for a code from an app on your phone (any TOTP app: 1Password, Google Authenticator, Authy…)."</p>
        <FormError error />
        {move || match set_up.get() {
            None => view! {
                // The password first: a stolen session must not plant a factor of its own.
                <form class="inline-form" on:submit=move |ev| {
                    ev.prevent_default();
                    begin.dispatch(SecondFactorBegin { password: password.get_untracked().into() });
                }>
                    <div class="field">
                        <label for="begin-password">"Your password"</label>
                        <input id="begin-password" type="password" autocomplete="current-password" required
                            data-test-id="begin-password" on:input=move |ev| password.set(event_target_value(&ev)) />
                    </div>
                    <button type="submit" class="button primary" data-test-id="second-factor-begin"
                        disabled=move || begin.pending().get()>"Set up"</button>
                </form>
            }.into_any(),
            Some(s) => view! {
                <ol class="steps">
                    <li>"Scan this code with your app, or type the key below into it."
                        <img class="qr" src=s.qr_data_url alt="QR code of the set-up key" width="200" height="200" />
                        <p>"Key: " <code data-test-id="second-factor-secret">{s.secret_text}</code></p>
                    </li>
                    <li>
                        <form class="inline-form" on:submit=move |ev| {
                            ev.prevent_default();
                            confirm.dispatch(SecondFactorConfirm { code: code.get_untracked().into() });
                        }>
                            <div class="field">
                                <label for="set-up-code">"The 6-digit code your app shows"</label>
                                <input id="set-up-code" inputmode="numeric" autocomplete="one-time-code" required
                                    data-test-id="second-factor-code" on:input=move |ev| code.set(event_target_value(&ev)) />
                            </div>
                            <button type="submit" class="button primary" data-test-id="second-factor-confirm"
                                disabled=move || confirm.pending().get()>"Turn on"</button>
                        </form>
                    </li>
                </ol>
            }.into_any(),
        }}
    }
}

#[component]
fn SecondFactorOn(
    v: SecurityView,
    codes: RwSignal<Option<Vec<String>>>,
    refresh: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let renew = ServerAction::<RecoveryCodesNew>::new();
    let off = ServerAction::<SecondFactorOff>::new();
    let code = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let off_code = RwSignal::new(String::new());
    let off_password = RwSignal::new(String::new());
    on_success(renew, move |c| codes.set(Some(c)));
    on_success(off, move |_| refresh());
    let error = Signal::derive(move || {
        renew
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| off.value().get().and_then(Result::err))
    });
    view! {
        <p data-test-id="second-factor-state">"On. "
            {format!("{} unused recovery codes left.", v.recovery_codes_left)}</p>
        <FormError error />
        <form class="inline-form" on:submit=move |ev| {
            ev.prevent_default();
            renew.dispatch(RecoveryCodesNew {
                password: password.get_untracked().into(),
                code: code.get_untracked().into(),
            });
        }>
            <div class="field">
                <label for="renew-password">"Your password"</label>
                <input id="renew-password" type="password" autocomplete="current-password" required
                    data-test-id="renew-password" on:input=move |ev| password.set(event_target_value(&ev)) />
            </div>
            <div class="field">
                <label for="renew-code">"Code from your app"</label>
                <input id="renew-code" inputmode="numeric" autocomplete="one-time-code" required
                    data-test-id="renew-code" on:input=move |ev| code.set(event_target_value(&ev)) />
            </div>
            <button type="submit" class="button" data-test-id="renew-codes">"New recovery codes"</button>
        </form>
        {v.may_turn_off.then(|| view! {
            <form class="inline-form" on:submit=move |ev| {
                ev.prevent_default();
                off.dispatch(SecondFactorOff {
                    password: off_password.get_untracked().into(),
                    code: off_code.get_untracked().into(),
                });
            }>
                <div class="field">
                    <label for="off-password">"Your password"</label>
                    <input id="off-password" type="password" autocomplete="current-password" required
                        data-test-id="off-password" on:input=move |ev| off_password.set(event_target_value(&ev)) />
                </div>
                <div class="field">
                    <label for="off-code">"Code from your app, or a recovery code"</label>
                    <input id="off-code" autocomplete="one-time-code" required
                        data-test-id="off-code" on:input=move |ev| off_code.set(event_target_value(&ev)) />
                </div>
                <button type="submit" class="button danger" data-test-id="second-factor-off">"Turn off"</button>
            </form>
        })}
    }
}

#[component]
fn PasswordCard() -> impl IntoView {
    let change = ServerAction::<PasswordChange>::new();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let done = Signal::derive(move || matches!(change.value().get(), Some(Ok(()))));
    let error = last_error(change);
    view! {
        <section class="card">
            <h2>"Password"</h2>
            <FormError error />
            {move || done.get().then(|| view! {
                <p class="notice" role="status" data-test-id="password-changed">"Password changed. Your other sessions have ended."</p>
            })}
            <form on:submit=move |ev| {
                ev.prevent_default();
                change.dispatch(PasswordChange {
                    current_password: current.get_untracked().into(),
                    new_password: new.get_untracked().into(),
                });
            }>
                <div class="field">
                    <label for="current-password">"Current password"</label>
                    <input id="current-password" type="password" autocomplete="current-password" required
                        on:input=move |ev| current.set(event_target_value(&ev)) />
                </div>
                <div class="field">
                    <label for="new-password">"New password"</label>
                    <input id="new-password" type="password" autocomplete="new-password" required
                        minlength="12" maxlength="128" aria-describedby="new-password-hint"
                        on:input=move |ev| new.set(event_target_value(&ev)) />
                    <p id="new-password-hint" class="hint">"12 to 128 characters. Your other sessions end when it changes."</p>
                </div>
                <button type="submit" class="button primary" data-test-id="change-password"
                    disabled=move || change.pending().get()>"Change password"</button>
            </form>
        </section>
    }
}

#[component]
fn RequireCard(
    v: SecurityView,
    refresh: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let set = ServerAction::<SecondFactorRequire>::new();
    on_success(set, move |_| refresh());
    let error: Signal<Option<ConsoleError>> = last_error(set);
    let required = v.account_requires;
    view! {
        <section class="card">
            <h2>"Your account"</h2>
            <p data-test-id="require-state">{if required {
                "Every member must use two-factor authentication. Members without it are held at this page until they set it up."
            } else {
                "Two-factor authentication is each member's choice."
            }}</p>
            <FormError error />
            <button type="button" class="button" data-test-id="require-second-factor"
                on:click=move |_| { set.dispatch(SecondFactorRequire { required: !required }); }>
                {if required { "Stop requiring it" } else { "Require it of every member" }}
            </button>
        </section>
    }
}
