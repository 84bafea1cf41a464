//! `/team` (members, roles, invitations) and `/join` (accepting one).

use leptos::prelude::*;
use leptos_meta::Title;

use super::form::FormError;
use super::widgets::{CopyButton, When};
use crate::team::{
    invite_preview, team, Invite, Join, NewInvite, RemoveMember, TeamView, WithdrawInvite,
};

#[component]
pub fn TeamPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let data = Resource::new(move || version.get(), |_| team());
    let fresh = RwSignal::new(None::<NewInvite>);
    view! {
        <Title text="Team" />
        <header class="page-header">
            <h1 data-test-id="page-title">"Team"</h1>
            <p class="lede">"The people who can work in this account. Owners manage members; developers manage projects and clients; viewers can look but not change."</p>
        </header>
        {move || fresh.get().map(|n| view! {
            <section class="card secret-panel" role="status" data-test-id="invite-panel">
                <h2>"Invitation link: copy it now"</h2>
                <p>"Send it to your teammate. It works once, as " <strong>{n.role.clone()}</strong> ", until " <When at=Some(n.expires_at) /> ". It is not shown again."</p>
                <p><code class="secret" data-test-id="invite-link">{n.link.clone()}</code> " " <CopyButton text=n.link.clone() label="Copy link" /></p>
                <button type="button" class="button" on:click=move |_| fresh.set(None)>"Done"</button>
            </section>
        })}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(t) => view! { <TeamView t version fresh /> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TeamView(
    t: TeamView,
    version: RwSignal<u32>,
    fresh: RwSignal<Option<NewInvite>>,
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
    let role = RwSignal::new("developer".to_string());
    Effect::new(move |_| {
        if matches!(remove.value().get(), Some(Ok(())))
            || matches!(withdraw.value().get(), Some(Ok(())))
        {
            version.update(|v| *v += 1);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(n)) = invite.value().get() {
            fresh.set(Some(n));
            version.update(|v| *v += 1);
        }
    });
    let error = Signal::derive(move || {
        remove
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| withdraw.value().get().and_then(Result::err))
            .or_else(|| invite.value().get().and_then(Result::err))
    });
    view! {
        <FormError error />
        <section class="card">
            <h2>"Members"</h2>
            <table class="table" data-test-id="members">
                <thead><tr><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Joined"</th><th></th></tr></thead>
                <tbody>
                    {members.into_iter().map(|m| {
                        let id = m.user_id.clone();
                        let is_me = m.user_id == me;
                        view! {
                            <tr data-test-id="member-row">
                                <td>{m.email.clone()}{is_me.then_some(" (you)")}</td>
                                <td><span class="role-badge">{m.role.clone()}</span></td>
                                <td><When at=Some(m.joined_at) /></td>
                                <td>{(can_manage && !is_me).then(|| view! {
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
                    <table class="table" data-test-id="invites">
                        <tbody>
                            {invites.into_iter().map(|i| {
                                let id = i.id.clone();
                                view! {
                                    <tr>
                                        <td><span class="role-badge">{i.role.clone()}</span></td>
                                        <td>"expires " <When at=Some(i.expires_at) /></td>
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
    }
    .into_any()
}

#[component]
pub fn JoinPage() -> impl IntoView {
    // The token is in the fragment, which only the browser sees.
    let token = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Ok(hash) = window().location().hash() {
            token.set(hash.trim_start_matches('#').to_owned());
        }
    });
    let preview = LocalResource::new(move || {
        let t = token.get();
        async move {
            if t.is_empty() {
                None
            } else {
                Some(invite_preview(t).await)
            }
        }
    });
    let action = ServerAction::<Join>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(Join {
            token: token.get_untracked(),
            email: email.get_untracked(),
            password: password.get_untracked(),
        });
    };
    view! {
        <Title text="Join an account" />
        <div class="auth-page">
            <main class="auth-card">
                <div class="auth-brand" aria-hidden="true"><span class="brand-mark"></span>"Portcullis"</div>
                <h1>"Join your team"</h1>
                {move || match preview.get() {
                    None | Some(None) => view! { <p data-test-id="join-loading">"Checking the invitation…"</p> }.into_any(),
                    Some(Some(Err(e))) => view! { <p class="form-error" role="alert" data-test-id="join-invalid">{e.to_string()}</p> }.into_any(),
                    Some(Some(Ok(p))) => view! {
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
                    }.into_any(),
                }}
            </main>
        </div>
    }
}
