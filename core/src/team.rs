//! Team members and one-time invitations. Owners invite (the link is shown
//! once and works once, for 7 days) and remove members; a removed member's
//! sessions end at once because every request re-reads the membership.

use serde::Serialize;

use crate::access::{Owner, Principal, Role};
use crate::accounts::Accounts;
use crate::audit;
use crate::clock::{Epoch, Secs};
use crate::db::is_unique_violation;
use crate::error::{Error, Result};
use crate::feed::{self, ChangeKind};
use crate::ids::{link_token_hash, new_id, new_link_token};
use crate::password;
use crate::password::Password;
use crate::store;
use crate::validate;

pub use crate::model::{Invite, Member};

pub const INVITE_TTL_SECS: Secs = 7 * 86_400;
/// Invitations one account may have waiting at once.
pub const PENDING_INVITES_MAX: usize = 50;

/// What the join page shows before someone accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvitePreview {
    pub account_name: String,
    pub role: String,
    pub expires_at: Epoch,
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
    pub async fn invite(&self, by: Owner<'_>, role: Role) -> Result<(Invite, String)> {
        let by = by.principal();
        let token = new_link_token();
        let now = self.clock().now();
        // Counted under the account's lock: two invitations cannot both
        // take the last place.
        let mut tx = self.db().begin().await?;
        if !store::accounts::lock(&mut *tx, &by.account_id).await? {
            return Err(Error::NotFound);
        }
        if store::team::pending(&mut *tx, &by.account_id, now)
            .await?
            .len()
            >= PENDING_INVITES_MAX
        {
            return Err(Error::conflict(format!(
                "An account can have at most {PENDING_INVITES_MAX} invitations waiting: withdraw some first."
            )));
        }
        let invite = Invite {
            id: new_id("inv"),
            role: role.as_str().into(),
            created_at: now,
            expires_at: now + INVITE_TTL_SECS,
        };
        store::team::insert_invite(
            &mut *tx,
            &by.account_id,
            &invite,
            &link_token_hash(&token),
            &by.user_id,
        )
        .await?;
        tx.commit().await?;
        self.audit_team(
            by,
            "member.invite",
            &invite.id,
            format!("invitation as {}", invite.role),
        )
        .await;
        Ok((invite, token))
    }

    pub async fn withdraw_invite(&self, by: Owner<'_>, id: &str) -> Result<()> {
        let by = by.principal();
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

    /// Accepts an invitation as a new user (email + password), and the
    /// person then logs in. Whether or not the email has a sign-in already,
    /// the answer is the same after the same work (an argon2 hash) and the
    /// invitation is spent, so joining tells nobody which emails exist; an
    /// existing user's accounts read about it in their audit logs instead,
    /// and no member is added. Joins count against the client address's
    /// sign-up allowance.
    pub async fn join(
        &self,
        token: &str,
        email: &str,
        password: &Password,
        client_ip: Option<std::net::IpAddr>,
    ) -> Result<()> {
        let now = self.clock().now();
        let email = validate::email(email)?;
        password::check_policy(password)?;
        self.count_sign_up(client_ip, now).await?;
        let hash = link_token_hash(token);
        let (invite_id, _, _, _) = store::team::live_invite(self.db(), &hash, now)
            .await?
            .ok_or_else(bad_invite)?;
        let password_hash = self.hash_password(password).await?;
        let user_id = new_id("usr");
        let mut tx = self.db().begin().await?;
        match store::users::insert(&mut *tx, &user_id, &email, &password_hash, now).await {
            Ok(()) => {}
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                return self
                    .join_as_existing_user(&invite_id, &email, client_ip, now)
                    .await;
            }
            Err(e) => return Err(e.into()),
        }
        // Spent in the same transaction: a second use finds nothing to spend.
        let (account_id, role) = store::team::spend_invite(&mut *tx, &invite_id, &user_id, now)
            .await?
            .ok_or_else(bad_invite)?;
        let role = Role::parse(&role)
            .ok_or_else(|| Error::Internal(format!("invite {invite_id} has role {role}")))?;
        store::accounts::add_member(&mut *tx, &account_id, &user_id, role, now).await?;
        tx.commit().await?;
        let mut principal = self
            .principal(&user_id, &account_id)
            .await?
            .ok_or(Error::NotFound)?;
        principal.client_ip = client_ip;
        self.audit_team(
            &principal,
            "member.join",
            &user_id,
            format!("joined as {}", role.as_str()),
        )
        .await;
        Ok(())
    }

    /// An invitation used with an email that has a sign-in: spent (so one
    /// link cannot probe many emails), no member added, and the user's
    /// accounts told.
    async fn join_as_existing_user(
        &self,
        invite_id: &str,
        email: &str,
        client_ip: Option<std::net::IpAddr>,
        now: Epoch,
    ) -> Result<()> {
        let Some(user) = store::users::find_by_email(self.db(), email).await? else {
            return Err(Error::Internal("a user vanished while joining".into()));
        };
        store::team::spend_invite(self.db(), invite_id, &user.id, now)
            .await?
            .ok_or_else(bad_invite)?;
        self.tell_existing_user(
            email,
            client_ip,
            now,
            "used an invitation to another account",
        )
        .await;
        Ok(())
    }

    /// Removes a member; their sessions end with their next request.
    pub async fn remove_member(&self, by: Owner<'_>, user_id: &str) -> Result<()> {
        let by = by.principal();
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
