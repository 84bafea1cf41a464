//! Narrowing a live client's scopes, and test tokens from the console.

use super::*;

impl Clients {
    /// Narrows a live client's scopes; new tokens carry only these. Any
    /// scope the client does not already have is refused: widening a live
    /// credential is exactly what a leaked one must never allow.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, client_id = %client_id))]
    pub async fn narrow(
        &self,
        by: Manager<'_>,
        client_id: &str,
        scopes: &[String],
    ) -> Result<Client> {
        let (row, project) = self.client_to_change(by, client_id).await?;
        let by = by.principal();
        if row.disabled_at.is_some() {
            return Err(Error::conflict("This client is retired or revoked."));
        }
        let current = split_scopes(&row.scopes);
        let wanted = self.checked_scopes(&project.api_id, scopes)?;
        // Both depend on what the client holds now: 409.
        if let Some(extra) = wanted.iter().find(|s| !current.contains(s)) {
            return Err(Error::Conflict {
                field: "scopes",
                message: format!(
                    "A live client's scopes can only be narrowed, and this client does not have {extra:?}. \
                     Create a new purpose-scoped client for it instead."
                ),
            });
        }
        if wanted == current {
            return Err(Error::Conflict {
                field: "scopes",
                message: "Nothing to change: untick the scopes this client should lose.".into(),
            });
        }
        let scopes = wanted.join(" ");
        let mut tx = self.db.begin().await?;
        // Only from the scopes read above, and only while live.
        if !store::clients::set_scopes(&mut *tx, &by.account_id, client_id, &row.scopes, &scopes)
            .await?
        {
            return Err(match self.client_row(by, client_id).await? {
                now if now.disabled_at.is_some() => Error::conflict(
                    "This client was retired or revoked meanwhile: it cannot be narrowed.",
                ),
                _ => Error::Conflict {
                    field: "scopes",
                    message: "This client's scopes changed meanwhile. Reload and try again.".into(),
                },
            });
        }
        self.commit_client(
            tx,
            by,
            "client.narrow",
            client_id,
            &row.project_id,
            format!("scopes {} narrowed to {scopes}", row.scopes),
        )
        .await?;
        tracing::info!(from = %row.scopes, to = %scopes, "client narrowed");
        let row = self.client_row(by, client_id).await?;
        self.view_of(&by.account_id, row, &project).await
    }

    /// A token for trying the API from the console: the token endpoint's own
    /// minting, for a client of the caller's account.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, client_id = %client_id))]
    pub async fn test_token(
        &self,
        by: Manager<'_>,
        client_id: &str,
        scopes: &[String],
    ) -> Result<Minted> {
        // The account check: the registry is global, the row lookup is not.
        let (row, _) = self.client_to_change(by, client_id).await?;
        let by = by.principal();
        let entry = self.registry.client(&row.id).ok_or(Error::NotFound)?;
        if scopes.is_empty() {
            return Err(Error::invalid(
                "scopes",
                "Tick the scopes the test token should carry.",
            ));
        }
        let minted = self
            .issuer
            .mint(&entry, Some(&scopes.join(" ")))
            .map_err(|e| match e {
                Error::InvalidClient => Error::conflict("This client cannot get tokens: it is disabled, expired or its project is archived.",
                ),
                Error::InvalidScope(m) => Error::invalid("scopes", m),
                other => other,
            })?;
        tracing::info!(jti = %minted.claims.jti, "test token minted from the console");
        self.audit(audit::Event::by(
            by,
            "client.test_token",
            ("client", client_id),
            Some(&row.project_id),
            format!(
                "test token with {} (jti {})",
                minted.claims.scope, minted.claims.jti
            ),
        ))
        .await;
        Ok(minted)
    }
}
