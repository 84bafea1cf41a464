//! "Keys only": a project that holds no secrets (the FAPI 2.0 idea). Its
//! clients sign in with a key (`private_key_jwt`) or a workload identity,
//! no secret can be made in it, and every token it mints is bound to a
//! DPoP key (RFC 9449), so neither a leaked credential nor a leaked token
//! is worth anything alone. Enforced where it matters: client creation
//! (`Clients::room_for_a_client`), secret authentication and minting
//! (`Issuer`).

use super::*;

impl Projects {
    /// Turns "keys only" on (refused while a live client of the project
    /// holds a secret: the answer names them) or off.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, project_id = %id))]
    pub async fn set_keys_only(&self, by: Manager<'_>, id: &str, on: bool) -> Result<Project> {
        let (manager, by) = (by, by.principal());
        let row = self.project_row(by, id).await?;
        manager.owner_of(&row.api_id)?;
        if row.archived_at.is_some() {
            return Err(Error::conflict("Archived projects cannot be changed."));
        }
        if (row.keys_only != 0) == on {
            return Ok(row.into());
        }
        let mut tx = self.db.begin().await?;
        if !store::projects::lock_live(&mut *tx, &by.account_id, id).await? {
            return Err(self.changed_meanwhile(by, id).await);
        }
        if !store::projects::set_keys_only(&mut *tx, &by.account_id, id, on).await? {
            let holders: Vec<String> =
                store::clients::list_for_project(&mut *tx, &by.account_id, id)
                    .await?
                    .into_iter()
                    .filter(|c| {
                        c.disabled_at.is_none() && c.auth_method == store::clients::AUTH_SECRET
                    })
                    .map(|c| format!("{:?} ({})", c.name, c.id))
                    .collect();
            return Err(Error::conflict(format!(
                "These clients still hold a secret: {}. Give the integration a key or workload client, move it over, and retire them first.",
                holders.join(", ")
            )));
        }
        let detail = match on {
            true => "keys only: no secrets, DPoP-bound tokens",
            false => "secrets allowed again; tokens need not be DPoP-bound",
        };
        self.feed
            .commit_audited(
                tx,
                audit::Event::by(
                    by,
                    "project.keys_only",
                    ("project", id),
                    Some(id),
                    detail.to_owned(),
                ),
                (ChangeKind::Project, id),
            )
            .await?;
        tracing::info!(on, "project keys-only setting changed");
        self.project(by, id).await
    }
}
