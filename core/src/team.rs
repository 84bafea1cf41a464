//! Team members and one-time invitations. Owners invite (the link is shown
//! once and works once, for 7 days) and remove members; a removed member's
//! sessions end at once because every request re-reads the membership.

use serde::Serialize;

use crate::accounts::{Accounts, Principal, Role};
use crate::audit;
use crate::clock::{Epoch, Secs};
use crate::db::is_unique_violation;
use crate::error::{Error, Result};
use crate::feed::{self, ChangeKind};
use crate::ids::{link_token_hash, new_id, new_link_token};
use crate::password;
use crate::secret::Password;
use crate::store;
use crate::validate;

pub use crate::model::{Invite, Member};

pub const INVITE_TTL_SECS: Secs = 7 * 86_400;

/// What the join page shows before someone accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvitePreview {
    pub account_name: String,
    pub role: String,
    pub expires_at: Epoch,
}

fn require_owner(p: &Principal) -> Result<()> {
    if p.role == Role::Owner {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

fn bad_invite() -> Error {
    Error::invalid(
        "token",
        "This invitation link is not valid: it may have expired, been used or been withdrawn. Ask for a new one.",
    )
}

impl Accounts {
    async fn audit_team(&self, by: &Principal, action: &'static str, target: &str, detail: String) {
        audit::record_or_log(
            self.db(),
            audit::Event::by(by, action, ("member", target), None, detail),
            self.clock().now(),
        )
        .await;
    }

    pub async fn members(&self, by: &Principal) -> Result<Vec<Member>> {
        store::team::members(self.db(), &by.account_id).await
    }

    pub async fn pending_invites(&self, by: &Principal) -> Result<Vec<Invite>> {
        store::team::pending(self.db(), &by.account_id, self.clock().now()).await
    }

    /// A new invitation for `role`; the token (for the link) is returned
    /// once and only its hash is kept.
    pub async fn invite(&self, by: &Principal, role: &str) -> Result<(Invite, String)> {
        require_owner(by)?;
        let role = Role::parse(role.trim())
            .ok_or_else(|| Error::invalid("role", "Choose owner, developer or viewer."))?;
        let token = new_link_token();
        let now = self.clock().now();
        let invite = Invite {
            id: new_id("inv"),
            role: role.as_str().into(),
            created_at: now,
            expires_at: now + INVITE_TTL_SECS,
        };
        store::team::insert_invite(
            self.db(),
            &by.account_id,
            &invite,
            &link_token_hash(&token),
            &by.user_id,
        )
        .await?;
        self.audit_team(
            by,
            "member.invite",
            &invite.id,
            format!("invitation as {}", invite.role),
        )
        .await;
        Ok((invite, token))
    }

    pub async fn withdraw_invite(&self, by: &Principal, id: &str) -> Result<()> {
        require_owner(by)?;
        if !store::team::revoke_invite(self.db(), &by.account_id, id, self.clock().now()).await? {
            return Err(Error::NotFound);
        }
        self.audit_team(
            by,
            "member.invite_withdrawn",
            id,
            "invitation withdrawn".into(),
        )
        .await;
        Ok(())
    }

    pub async fn preview_invite(&self, token: &str) -> Result<InvitePreview> {
        let (_, account_name, role, expires_at) =
            store::team::live_invite(self.db(), &link_token_hash(token), self.clock().now())
                .await?
                .ok_or_else(bad_invite)?;
        Ok(InvitePreview {
            account_name,
            role,
            expires_at,
        })
    }

    /// Accepts an invitation as a new user (email + password): one
    /// transaction, and the invitation is spent.
    pub async fn join(&self, token: &str, email: &str, password: &Password) -> Result<Principal> {
        let now = self.clock().now();
        let hash = link_token_hash(token);
        let (invite_id, _, _, _) = store::team::live_invite(self.db(), &hash, now)
            .await?
            .ok_or_else(bad_invite)?;
        let email = validate::email(email)?;
        password::check_policy(password)?;
        if store::users::email_exists(self.db(), &email).await? {
            return Err(Error::Conflict {
                field: "email",
                message: "This email already has a Portcullis sign-in; one email belongs to one account for now. Use another email.".into(),
            });
        }
        let password_hash = self.hash_password(password).await?;
        let user_id = new_id("usr");
        let mut tx = self.db().begin().await?;
        store::users::insert(&mut *tx, &user_id, &email, &password_hash, now)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::EmailTaken
                } else {
                    e.into()
                }
            })?;
        // Spent in the same transaction: a second use finds nothing to spend.
        let (account_id, role) = store::team::spend_invite(&mut *tx, &invite_id, &user_id, now)
            .await?
            .ok_or_else(bad_invite)?;
        let role = Role::parse(&role)
            .ok_or_else(|| Error::Internal(format!("invite {invite_id} has role {role}")))?;
        store::accounts::add_member(&mut *tx, &account_id, &user_id, role, now).await?;
        tx.commit().await?;
        let principal = self
            .principal(&user_id, &account_id)
            .await?
            .ok_or(Error::NotFound)?;
        self.audit_team(
            &principal,
            "member.join",
            &user_id,
            format!("joined as {}", role.as_str()),
        )
        .await;
        Ok(principal)
    }

    /// Removes a member; their sessions end with their next request.
    pub async fn remove_member(&self, by: &Principal, user_id: &str) -> Result<()> {
        require_owner(by)?;
        // The membership is read under the account's lock: two owners
        // removing each other at once cannot both pass the last-owner rule.
        let mut tx = self.db().begin().await?;
        if !store::accounts::lock(&mut *tx, &by.account_id).await? {
            return Err(Error::NotFound);
        }
        let members = store::team::members(&mut *tx, &by.account_id).await?;
        if !members
            .iter()
            .any(|m| m.user_id == by.user_id && m.role == "owner")
        {
            // Removed, or no longer an owner, since this session began.
            return Err(Error::Forbidden);
        }
        let target = members
            .iter()
            .find(|m| m.user_id == user_id)
            .ok_or(Error::NotFound)?;
        let owners = members.iter().filter(|m| m.role == "owner").count();
        if target.role == "owner" && owners == 1 {
            return Err(Error::refused(
                "An account needs an owner: make someone else owner first.",
            ));
        }
        let now = self.clock().now();
        if !store::team::remove_member(&mut *tx, &by.account_id, user_id).await? {
            return Err(Error::NotFound);
        }
        audit::record(
            &mut *tx,
            audit::Event::by(
                by,
                "member.remove",
                ("member", user_id),
                None,
                format!("{} ({}) removed", target.email, target.role),
            ),
            now,
        )
        .await?;
        let member = format!("{}/{user_id}", by.account_id);
        feed::record(&mut tx, &[(ChangeKind::Member, &member)], now).await?;
        tx.commit().await?;
        Ok(())
    }
}
