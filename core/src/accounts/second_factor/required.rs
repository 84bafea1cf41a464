//! Who must have a second factor: an owner's account-wide requirement, and
//! the command line's reset for a support staff member who lost it.

use crate::access::Owner;
use crate::accounts::Accounts;
use crate::audit;
use crate::error::{Error, Result};
use crate::store;

impl Accounts {
    /// An owner requires (or stops requiring) a second factor of every
    /// member. Requiring it needs the owner's own first, so the account
    /// is never left with nobody able to act.
    pub async fn set_second_factor_required(&self, owner: Owner<'_>, required: bool) -> Result<()> {
        let owner = owner.principal();
        if required && !owner.second_factor {
            return Err(Error::refused(
                "Turn on two-factor authentication for yourself first.",
            ));
        }
        let now = self.clock().now();
        let since = required.then_some(now);
        store::second_factor::set_required(self.db(), &owner.account_id, since).await?;
        let (action, detail) = if required {
            (
                "account.second_factor_required",
                "every member must use two-factor authentication",
            )
        } else {
            (
                "account.second_factor_optional",
                "two-factor authentication is each member's choice",
            )
        };
        audit::record_or_log(
            self.db(),
            audit::Event::by(
                owner,
                action,
                ("account", &owner.account_id),
                None,
                detail.into(),
            ),
            now,
        )
        .await;
        Ok(())
    }

    /// `portcullis staff reset-second-factor`: for a staff member who lost
    /// both phone and recovery codes; they set it up again at next sign-in.
    pub async fn reset_staff_second_factor(&self, email: &str) -> Result<()> {
        let email = crate::validate::email(email)?;
        let user_id = store::staff::id_by_email(self.db(), &email)
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "email",
                    format!("no support staff member has the email {email}"),
                )
            })?;
        let mut tx = self.db().begin().await?;
        store::second_factor::delete(&mut *tx, &user_id).await?;
        store::second_factor::delete_recovery_codes(&mut *tx, &user_id).await?;
        tx.commit().await?;
        tracing::warn!(staff_id = %user_id, "staff second factor reset from the command line");
        Ok(())
    }
}
