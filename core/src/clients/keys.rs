//! A key client's public keys: replaced as a whole, so a rotation is
//! "the old and the new key" for a while, then "the new key" alone. Tokens
//! already minted are not touched: they stay good until they expire.

use super::*;

impl Clients {
    /// Replaces a live `private_key_jwt` client's keys with `public_keys`
    /// (one or two; see [`ClientKeys::parse`]). Audited as
    /// `client.keys_changed`, which the account's webhooks hear.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, client_id = %client_id))]
    pub async fn set_keys(
        &self,
        by: Manager<'_>,
        client_id: &str,
        public_keys: &str,
    ) -> Result<Client> {
        let (row, project) = self.client_to_change(by, client_id).await?;
        let by = by.principal();
        // Bad keys are a 422 whatever the client's state.
        let keys = ClientKeys::parse(public_keys)?;
        let Some(before) = row.public_keys.as_deref() else {
            return Err(Error::conflict(
                "This client authenticates with a secret: rotate it to a new client instead.",
            ));
        };
        if row.disabled_at.is_some() {
            return Err(Error::conflict("This client is retired or revoked."));
        }
        let before = ClientKeys::from_stored(before)
            .map(|k| k.summaries())
            .unwrap_or_default();
        let after = keys.summaries();
        if before == after {
            return Err(Error::Conflict {
                field: "public_keys",
                message: "These are the keys the client already has.".into(),
            });
        }
        let mut tx = self.db.begin().await?;
        if !store::clients::set_public_keys(&mut *tx, &by.account_id, client_id, &keys.to_json())
            .await?
        {
            return Err(Error::conflict(
                "This client was retired or revoked meanwhile: its keys cannot change.",
            ));
        }
        let kids = |list: &[KeySummary]| {
            list.iter()
                .map(|k| format!("{} ({})", k.kid, k.alg))
                .collect::<Vec<_>>()
                .join(", ")
        };
        self.commit_client(
            tx,
            by,
            "client.keys_changed",
            client_id,
            &row.project_id,
            format!("public keys {} replaced by {}", kids(&before), kids(&after)),
        )
        .await?;
        tracing::info!(keys = after.len(), "client keys changed");
        let row = self.client_row(by, client_id).await?;
        Ok(self.client_view(
            row,
            project.archived_at.is_some(),
            project.token_ttl_secs,
            self.clock.now(),
        ))
    }
}
