//! Team members and invitations: server functions and wire types.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ConsoleError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub joined_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteInfo {
    pub id: String,
    pub role: String,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamView {
    pub members: Vec<MemberInfo>,
    pub invites: Vec<InviteInfo>,
    /// Owners manage the team.
    pub can_manage: bool,
    pub me: String,
}

/// A new invitation: the link is in this answer and nowhere else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInvite {
    pub link: String,
    pub role: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitePreviewInfo {
    pub account_name: String,
    pub role: String,
    pub expires_at: i64,
}

#[server(endpoint = "team")]
pub async fn team() -> Result<TeamView, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let members = state.accounts.members(&p).await?;
        let owner = p.role() == portcullis_core::Role::Owner;
        let invites = if owner {
            state.accounts.pending_invites(&p).await?
        } else {
            Vec::new()
        };
        Ok(TeamView {
            members: members
                .into_iter()
                .map(|m| MemberInfo {
                    user_id: m.user_id,
                    email: m.email,
                    role: m.role,
                    joined_at: m.joined_at,
                })
                .collect(),
            invites: invites
                .into_iter()
                .map(|i| InviteInfo {
                    id: i.id,
                    role: i.role,
                    created_at: i.created_at,
                    expires_at: i.expires_at,
                })
                .collect(),
            can_manage: owner,
            me: p.user_id().to_owned(),
        })
    })
    .await
}

#[server(endpoint = "team_invite")]
pub async fn invite(#[server(default)] role: String) -> Result<NewInvite, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let by = p.owner()?;
        let role = portcullis_core::validate::role("role", &role)?;
        let (invite, token) = state.accounts.invite(by, role).await?;
        Ok(NewInvite {
            // The token rides in the fragment: browsers never send it to a
            // server, so it stays out of logs and Referer headers.
            link: format!("{}/join#{token}", state.public_base),
            role: invite.role,
            expires_at: invite.expires_at,
        })
    })
    .await
}

#[server(endpoint = "team_withdraw")]
pub async fn withdraw_invite(id: String) -> Result<(), ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        state.accounts.withdraw_invite(p.owner()?, &id).await?;
        Ok(())
    })
    .await
}

#[server(endpoint = "team_remove")]
pub async fn remove_member(user_id: String) -> Result<(), ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        state.accounts.remove_member(p.owner()?, &user_id).await?;
        Ok(())
    })
    .await
}

#[server(endpoint = "invite_preview")]
pub async fn invite_preview(
    #[server(default)] token: String,
) -> Result<InvitePreviewInfo, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let state = ssr::state()?;
        let p = state.accounts.preview_invite(&token).await?;
        Ok(InvitePreviewInfo {
            account_name: p.account_name,
            role: p.role,
            expires_at: p.expires_at,
        })
    })
    .await
}

#[server(endpoint = "join")]
pub async fn join(
    #[server(default)] token: crate::redacted::Redacted,
    #[server(default)] email: String,
    #[server(default)] password: crate::redacted::Redacted,
) -> Result<(), ConsoleError> {
    use crate::ssr;
    use portcullis_core::Password;
    ssr::respond(async move {
        let state = ssr::state()?;
        let ip = ssr::client_ip(&state).await;
        // The same answer whether or not the email has a sign-in already:
        // either way the person now logs in.
        state
            .accounts
            .join(
                token.expose(),
                &email,
                &Password::new(password.into_inner()),
                ip,
            )
            .await?;
        leptos_axum::redirect(JOINED);
        Ok(())
    })
    .await
}

/// A new password-reset link for a member: in this answer and nowhere else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReset {
    pub link: String,
    pub email: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetPreviewInfo {
    pub email: String,
    pub account_name: String,
    pub expires_at: i64,
}

/// An owner's one-time reset link for another member.
#[server(endpoint = "team_password_reset")]
pub async fn member_password_reset(user_id: String) -> Result<NewReset, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let (state, p) = ssr::require_principal().await?;
        let (issued, token) = state
            .accounts
            .issue_password_reset(p.owner()?, &user_id)
            .await?;
        Ok(NewReset {
            // In the fragment, like invitations: never sent to a server.
            link: format!("{}/reset#{token}", state.public_base),
            email: issued.email,
            expires_at: issued.expires_at,
        })
    })
    .await
}

#[server(endpoint = "password_reset_preview")]
pub async fn password_reset_preview(
    #[server(default)] token: crate::redacted::Redacted,
) -> Result<ResetPreviewInfo, ConsoleError> {
    use crate::ssr;
    ssr::respond(async move {
        let state = ssr::state()?;
        let p = state
            .accounts
            .preview_password_reset(token.expose())
            .await?;
        Ok(ResetPreviewInfo {
            email: p.email,
            account_name: p.account_name,
            expires_at: p.expires_at,
        })
    })
    .await
}

/// Sets the new password; every session of that user ends, and they log in.
#[server(endpoint = "password_reset")]
pub async fn password_reset(
    #[server(default)] token: crate::redacted::Redacted,
    #[server(default)] password: crate::redacted::Redacted,
) -> Result<(), ConsoleError> {
    use crate::ssr;
    use portcullis_core::Password;
    ssr::respond(async move {
        let state = ssr::state()?;
        state
            .accounts
            .reset_password(token.expose(), &Password::new(password.into_inner()))
            .await?;
        leptos_axum::redirect(PASSWORD_WAS_RESET);
        Ok(())
    })
    .await
}

/// The log-in page after a reset, which says so.
pub const PASSWORD_WAS_RESET: &str = "/login?reset=1";
/// Where joining leads, whether or not the email had a sign-in.
pub const JOINED: &str = "/login?joined=1";
