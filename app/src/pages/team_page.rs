//! `/team` (members, roles, invitations) and `/join` (accepting one).

use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;

use super::boundary::erased_on_server;
use super::form::{last_error, on_success, FormError};
use super::widgets::{CopyButton, When};
use crate::error::ConsoleError;
use crate::team::{
    invite_preview, team, Invite, InvitePreviewInfo, Join, MemberPasswordReset, NewInvite,
    NewReset, RemoveMember, TeamView, WithdrawInvite,
};

#[component]
pub fn TeamPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| team());
    erased_on_server(view! {
        <Title text="Team" />
        <header class="page-header">
            <h1 data-test-id="page-title">"Team"</h1>
            <p class="lede">"The people who can work in this account. Owners manage members; developers manage projects and clients; viewers can look but not change."</p>
        </header>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(t) => view! { <TeamSection t /> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    })
}

/// Members and invitations, fetched again after each change; a new
/// invitation link stays on screen (it is shown once) while they refresh.
#[island(lazy)]
fn TeamSection(t: TeamView) -> impl IntoView {
    crate::island_hydrated("TeamSection");
    let data = RwSignal::new(t);
    let fresh = RwSignal::new(None::<NewInvite>);
    let fresh_reset = RwSignal::new(None::<NewReset>);
    let load_error = RwSignal::new(None::<ConsoleError>);
    let refresh = move || {
        spawn_local(async move {
            match team().await {
                Ok(t) => {
                    load_error.set(None);
                    data.set(t);
                }
                Err(e) => load_error.set(Some(e)),
            }
        });
    };
    erased_on_server(view! {
        {move || fresh.get().map(|n| view! {
            <section class="card secret-panel" role="status" data-test-id="invite-panel">
                <h2>"Invitation link: copy it now"</h2>
                <p>"Send it to your teammate. It works once, as " <strong>{n.role.clone()}</strong> ", until " <When at=Some(n.expires_at) /> ". It is not shown again."</p>
                <p><code class="secret" data-test-id="invite-link">{n.link.clone()}</code> " " <CopyButton text=n.link.clone() label="Copy link" /></p>
                <button type="button" class="button" on:click=move |_| fresh.set(None)>"Done"</button>
            </section>
        })}
        {move || fresh_reset.get().map(|n| view! {
            <section class="card secret-panel" role="status" data-test-id="reset-panel">
                <h2>"Password reset link: copy it now"</h2>
                <p>"Give it to " <strong>{n.email.clone()}</strong> " yourself, not by the email a stolen mailbox would read. It works once, until " <When at=Some(n.expires_at) /> "; their earlier links stop working. Their second factor, if they have one, still applies."</p>
                <p><code class="secret" data-test-id="reset-link">{n.link.clone()}</code> " " <CopyButton text=n.link.clone() label="Copy link" /></p>
                <button type="button" class="button" on:click=move |_| fresh_reset.set(None)>"Done"</button>
            </section>
        })}
        <FormError error=load_error.into() />
        {move || view! { <Members t=data.get() fresh fresh_reset refresh /> }}
    })
}

#[component]
fn Members(
    t: TeamView,
    fresh: RwSignal<Option<NewInvite>>,
    fresh_reset: RwSignal<Option<NewReset>>,
    refresh: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let TeamView {
        members,
        invites,
        can_manage,
        me,
    } = t;
    let remove = ServerAction::<RemoveMember>::new();
    let withdraw = ServerAction::<WithdrawInvite>::new();
    let invite = ServerAction::<Invite>::new();
    let reset = ServerAction::<MemberPasswordReset>::new();
    on_success(reset, move |n| fresh_reset.set(Some(n)));
    let role = RwSignal::new("developer".to_string());
    on_success(remove, move |_| refresh());
    on_success(withdraw, move |_| refresh());
    on_success(invite, move |n| {
        fresh.set(Some(n));
        refresh();
    });
    let error = Signal::derive(move || {
        remove
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| withdraw.value().get().and_then(Result::err))
            .or_else(|| invite.value().get().and_then(Result::err))
            .or_else(|| reset.value().get().and_then(Result::err))
    });
    erased_on_server(view! {
        <FormError error />
        <section class="card">
            <h2>"Members"</h2>
            <table class="table stack" data-test-id="members">
                <thead><tr><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Joined"</th><th></th></tr></thead>
                <tbody>
                    {members.into_iter().map(|m| {
                        let id = m.user_id.clone();
                        let reset_id = m.user_id.clone();
                        let is_me = m.user_id == me;
                        view! {
                            <tr data-test-id="member-row">
                                <td data-label="Email">{m.email.clone()}{is_me.then_some(" (you)")}</td>
                                <td data-label="Role"><span class="role-badge">{m.role.clone()}</span></td>
                                <td data-label="Joined"><When at=Some(m.joined_at) /></td>
                                <td>{(can_manage && !is_me).then(|| view! {
                                    <button type="button" class="button small" data-test-id="reset-member-password"
                                        on:click=move |_| { reset.dispatch(MemberPasswordReset { user_id: reset_id.clone() }); }>
                                        "Reset password"</button>
                                    " "
                                    <button type="button" class="button small danger" data-test-id="remove-member"
                                        on:click=move |_| { remove.dispatch(RemoveMember { user_id: id.clone() }); }>
                                        "Remove"</button>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <p class="hint">"A removed member is signed out at once."</p>
        </section>
        {can_manage.then(|| view! {
            <section class="card">
                <h2>"Invite a teammate"</h2>
                <div class="inline-form">
                    <div class="field">
                        <label for="invite-role">"Role"</label>
                        <select id="invite-role" data-test-id="invite-role" on:change=move |ev| role.set(event_target_value(&ev))>
                            <option value="developer" selected>"Developer: projects, clients, rotation, rate limits"</option>
                            <option value="viewer">"Viewer: read-only"</option>
                            <option value="owner">"Owner: everything, including members"</option>
                        </select>
                    </div>
                    <button type="button" class="button primary" data-test-id="create-invite"
                        on:click=move |_| { invite.dispatch(Invite { role: role.get_untracked() }); }>
                        "Create invitation link"</button>
                </div>
                {(!invites.is_empty()).then(|| view! {
                    <h3>"Pending invitations"</h3>
                    <table class="table stack" data-test-id="invites">
                        <thead><tr><th scope="col">"Role"</th><th scope="col">"Expires"</th><th></th></tr></thead>
                        <tbody>
                            {invites.into_iter().map(|i| {
                                let id = i.id.clone();
                                view! {
                                    <tr>
                                        <td data-label="Role"><span class="role-badge">{i.role.clone()}</span></td>
                                        <td data-label="Expires"><When at=Some(i.expires_at) /></td>
                                        <td><button type="button" class="button small"
                                            on:click=move |_| { withdraw.dispatch(WithdrawInvite { id: id.clone() }); }>
                                            "Withdraw"</button></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                })}
            </section>
        })}
    })
}

#[component]
pub fn JoinPage() -> impl IntoView {
    erased_on_server(view! {
        <Title text="Join an account" />
        <div class="auth-page">
            <main class="auth-card">
                <div class="auth-brand" aria-hidden="true"><span class="brand-mark"></span>"Portcullis"</div>
                <h1>"Join your team"</h1>
                <JoinForm />
            </main>
        </div>
    })
}

/// Reads the invitation from the address's fragment, shows what it is for,
/// and takes the new member's email and password.
#[island]
fn JoinForm() -> impl IntoView {
    crate::island_hydrated("JoinForm");
    // The token is in the fragment, which only the browser sees. The
    // preview is fetched once the page runs; until then the page says so.
    let token = RwSignal::new(String::new());
    let preview = RwSignal::new(None::<Result<InvitePreviewInfo, ConsoleError>>);
    Effect::new(move |_| {
        let hash = window().location().hash().unwrap_or_default();
        let t = hash.trim_start_matches('#').to_owned();
        token.set(t.clone());
        spawn_local(async move { preview.set(Some(invite_preview(t).await)) });
    });
    let action = ServerAction::<Join>::new();
    let error = last_error(action);
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(Join {
            token: token.get_untracked().into(),
            email: email.get_untracked(),
            password: password.get_untracked().into(),
        });
    };
    erased_on_server(view! {
        {move || match preview.get() {
            None => EitherOf3::A(view! { <p data-test-id="join-loading">"Checking the invitation…"</p> }),
            Some(Err(e)) => EitherOf3::B(view! { <p class="form-error" role="alert" data-test-id="join-invalid">{e.to_string()}</p> }),
            Some(Ok(p)) => EitherOf3::C(view! {
                <p data-test-id="join-preview">"You are invited to " <strong>{p.account_name}</strong> " as " <strong>{p.role}</strong> "."</p>
                <form on:submit=submit>
                    <FormError error />
                    <div class="field">
                        <label for="join-email">"Work email"</label>
                        <input id="join-email" type="email" required autocomplete="username"
                            on:input=move |ev| email.set(event_target_value(&ev)) />
                    </div>
                    <div class="field">
                        <label for="join-password">"Choose a password"</label>
                        <input id="join-password" type="password" required minlength="12" maxlength="128"
                            autocomplete="new-password" on:input=move |ev| password.set(event_target_value(&ev)) />
                        <p class="hint">"12 to 128 characters."</p>
                    </div>
                    <button type="submit" class="button primary wide" data-test-id="join-submit"
                        disabled=move || action.pending().get()>"Join"</button>
                </form>
            }),
        }}
    })
}
