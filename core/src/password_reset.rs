//! Changing a password, an owner's one-time reset link for a member, and
//! the staff reset from the command line. Each moves the user's session
//! epoch on, which ends their other sessions.

use serde::{Deserialize, Serialize};

use crate::access::Owner;
use crate::accounts::Accounts;
use crate::audit;
use crate::clock::{Epoch, Secs};
use crate::error::{Error, Result};
use crate::ids::{link_token_hash, new_id, new_link_token};
use crate::password;
use crate::password::Password;
use crate::second_factor::Person;
use crate::store;

/// How long a reset link works.
pub const RESET_TTL_SECS: Secs = 24 * 3600;

/// A reset link as the owner sees it; the token goes in the link only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetIssued {
    pub id: String,
    pub email: String,
    pub expires_at: Epoch,
}

/// What the reset page shows before the new password is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetPreview {
    pub email: String,
    pub account_name: String,
    pub expires_at: Epoch,
}

fn bad_link() -> Error {
    Error::invalid(
        "token",
        "This reset link is not valid: it may have expired, been used or been replaced. Ask an owner for a new one.",
    )
}

impl Accounts {
    /// Checks the signed-in person's own password, under the log-in
    /// throttle (a stolen session must not become a password oracle).
    pub(crate) async fn check_own_password(
        &self,
        who: Person<'_>,
        password: &Password,
        client_ip: Option<std::net::IpAddr>,
        field: &'static str,
    ) -> Result<()> {
        let now = self.clock().now();
        let email = who.email();
        self.throttle()
            .reserve_everywhere(email, client_ip, now)
            .await
            .map_err(|retry_after_secs| Error::Throttled { retry_after_secs })?;
        let stored = store::users::get(self.db(), who.user_id())
            .await?
            .map(|(_, hash)| hash)
            .ok_or(Error::Unauthenticated)?;
        if self.hasher().verify(password, &stored).await? {
            self.throttle().record_success_everywhere(email).await;
            self.throttle().refund_ip(client_ip);
            Ok(())
        } else {
            self.throttle()
                .record_reserved_failure_everywhere(email, client_ip, now)
                .await;
            Err(Error::invalid(field, "That is not your current password."))
        }
    }

    /// Changes the signed-in person's password; the new session epoch
    /// (the caller's own session carries on under it, the others end).
    pub async fn change_password(
        &self,
        who: Person<'_>,
        current: &Password,
        new: &Password,
        client_ip: Option<std::net::IpAddr>,
    ) -> Result<i64> {
        password::check_policy(new).map_err(|e| match e {
            Error::Invalid { message, .. } => Error::Invalid {
                field: "new_password",
                message,
            },
            other => other,
        })?;
        if current.expose() == new.expose() {
            return Err(Error::invalid(
                "new_password",
                "Choose a password different from the current one.",
            ));
        }
        self.check_own_password(who, current, client_ip, "current_password")
            .await?;
        let hash = self.hash_password(new).await?;
        let epoch = store::users::set_password(self.db(), who.user_id(), &hash).await?;
        match who {
            Person::Member(p) => {
                let mut p = p.clone();
                p.client_ip = client_ip;
                audit::record_or_log(
                    self.db(),
                    audit::Event::by(
                        &p,
                        "user.password_change",
                        ("user", &p.user_id),
                        None,
                        "changed their password; their other sessions ended".into(),
                    ),
                    self.clock().now(),
                )
                .await;
            }
            Person::Staff(s) => tracing::info!(staff_id = %s.user_id, "staff password changed"),
        }
        Ok(epoch)
    }

    /// An owner's one-time reset link for another member of the account:
    /// the token is returned once (for the link's fragment) and only its
    /// hash is kept; the member's earlier links stop working.
    pub async fn issue_password_reset(
        &self,
        owner: Owner<'_>,
        member_id: &str,
    ) -> Result<(ResetIssued, String)> {
        let owner = owner.principal();
        if member_id == owner.user_id {
            return Err(Error::refused(
                "Change your own password on the Security page instead.",
            ));
        }
        let members = store::team::members(self.db(), &owner.account_id).await?;
        let member = members
            .iter()
            .find(|m| m.user_id == member_id)
            .ok_or(Error::NotFound)?;
        let token = new_link_token();
        let now = self.clock().now();
        let issued = ResetIssued {
            id: new_id("pwr"),
            email: member.email.clone(),
            expires_at: now + RESET_TTL_SECS,
        };
        let mut tx = self.db().begin().await?;
        store::password_resets::void_unused(&mut *tx, member_id, now).await?;
        store::password_resets::insert(
            &mut *tx,
            store::password_resets::NewReset {
                id: &issued.id,
                account_id: &owner.account_id,
                user_id: member_id,
                token_hash: &link_token_hash(&token),
                created_by: &owner.user_id,
                now,
                expires_at: issued.expires_at,
            },
        )
        .await?;
        audit::record(
            &mut *tx,
            audit::Event::by(
                owner,
                "member.password_reset_issued",
                ("member", member_id),
                None,
                format!("password reset link for {}", member.email),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok((issued, token))
    }

    pub async fn preview_password_reset(&self, token: &str) -> Result<ResetPreview> {
        let (_, _, email, _, account_name, expires_at) =
            store::password_resets::live(self.db(), &link_token_hash(token), self.clock().now())
                .await?
                .ok_or_else(bad_link)?;
        Ok(ResetPreview {
            email,
            account_name,
            expires_at,
        })
    }

    /// Sets a new password through a reset link, which is spent; every
    /// session of that user ends. They then log in as usual (with their
    /// second factor, if they have one).
    pub async fn reset_password(&self, token: &str, new: &Password) -> Result<()> {
        let now = self.clock().now();
        let (reset_id, user_id, email, account_id, _, _) =
            store::password_resets::live(self.db(), &link_token_hash(token), now)
                .await?
                .ok_or_else(bad_link)?;
        password::check_policy(new)?;
        let hash = self.hash_password(new).await?;
        let mut tx = self.db().begin().await?;
        if !store::password_resets::spend(&mut *tx, &reset_id, now).await? {
            return Err(bad_link());
        }
        store::users::set_password(&mut *tx, &user_id, &hash).await?;
        audit::record(
            &mut *tx,
            audit::Event {
                account_id: &account_id,
                actor: audit::Actor::User {
                    id: user_id.clone(),
                    email: email.clone(),
                },
                action: "user.password_reset",
                target_kind: "user",
                target_id: &user_id,
                project_id: None,
                client_ip: None,
                detail: "set a new password with a reset link; their sessions ended".into(),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        // A throttle lock earned by whoever guessed at the old password
        // should not keep the rightful user out now.
        self.throttle().record_success_everywhere(&email).await;
        Ok(())
    }

    /// `portcullis staff reset-password`: a staff member's new password;
    /// their sessions end.
    pub async fn reset_staff_password(&self, email: &str, new: &Password) -> Result<()> {
        let email = crate::validate::email(email)?;
        password::check_policy(new)?;
        let user_id = store::staff::id_by_email(self.db(), &email)
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "email",
                    format!("no support staff member has the email {email}"),
                )
            })?;
        let hash = self.hash_password(new).await?;
        store::users::set_password(self.db(), &user_id, &hash).await?;
        self.throttle().record_success_everywhere(&email).await;
        tracing::warn!(staff_id = %user_id, "staff password reset from the command line");
        Ok(())
    }
}
