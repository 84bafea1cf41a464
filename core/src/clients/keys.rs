//! A key client's public keys: replaced as a whole, so a rotation is
//! "the old and the new key" for a while, then "the new key" alone. Tokens
//! already minted are not touched: they stay good until they expire.

use super::*;

impl Clients {
    /// What a key client stores for `input`, checked: pasted keys are
    /// read, and a `jwks_uri` must be one the operator lets this server
    /// fetch and must answer a usable JWK Set now.
    pub(crate) async fn stored_keys(&self, input: KeysInput<'_>) -> Result<StoredKeys> {
        match input {
            KeysInput::Pasted(text) => Ok(StoredKeys {
                public_keys: Some(ClientKeys::parse(text)?.to_json()),
                jwks_uri: None,
            }),
            KeysInput::JwksUri(raw) => {
                let url = self.key_targets.check_url_for("jwks_uri", raw)?;
                self.issuer.remote_keys().probe(&url).await.map_err(|e| {
                    Error::invalid(
                        "jwks_uri",
                        format!("Could not use the JWK Set at that URL: {e}."),
                    )
                })?;
                Ok(StoredKeys {
                    public_keys: None,
                    jwks_uri: Some(url),
                })
            }
        }
    }

    /// Replaces a live `private_key_jwt` client's keys: one or two pasted
    /// (see [`ClientKeys::parse`]) or a `jwks_uri`. Audited as
    /// `client.keys_changed`, which the account's webhooks hear.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, client_id = %client_id))]
    pub async fn set_keys(
        &self,
        by: Manager<'_>,
        client_id: &str,
        input: KeysInput<'_>,
    ) -> Result<Client> {
        let (row, project) = self.client_to_change(by, client_id).await?;
        let by = by.principal();
        if let KeysInput::Pasted(text) = input {
            // Bad keys are a 422 whatever the client's state.
            ClientKeys::parse(text)?;
        }
        if row.auth_method != store::clients::AUTH_PRIVATE_KEY_JWT {
            return Err(Error::conflict(
                "This client authenticates with a secret: rotate it to a new client instead.",
            ));
        }
        if row.disabled_at.is_some() {
            return Err(Error::conflict("This client is retired or revoked."));
        }
        let keys = self.stored_keys(input).await?;
        if keys.public_keys == row.public_keys && keys.jwks_uri == row.jwks_uri {
            return Err(Error::Conflict {
                field: "public_keys",
                message: "These are the keys the client already has.".into(),
            });
        }
        let describe =
            |public_keys: &Option<String>, jwks_uri: &Option<String>| match (public_keys, jwks_uri)
            {
                (Some(json), _) => kids(
                    &ClientKeys::from_stored(json)
                        .map(|k| k.summaries())
                        .unwrap_or_default(),
                ),
                (None, Some(url)) => format!("the JWK Set at {url}"),
                (None, None) => "none".into(),
            };
        let (before, after) = (
            describe(&row.public_keys, &row.jwks_uri),
            describe(&keys.public_keys, &keys.jwks_uri),
        );
        let mut tx = self.db.begin().await?;
        if !store::clients::set_public_keys(
            &mut *tx,
            &by.account_id,
            client_id,
            keys.public_keys.as_deref(),
            keys.jwks_uri.as_deref(),
        )
        .await?
        {
            return Err(Error::conflict(
                "This client was retired or revoked meanwhile: its keys cannot change.",
            ));
        }
        self.commit_client(
            tx,
            by,
            "client.keys_changed",
            client_id,
            &row.project_id,
            format!("public keys {before} replaced by {after}"),
        )
        .await?;
        tracing::info!("client keys changed");
        let row = self.client_row(by, client_id).await?;
        Ok(self.client_view(
            row,
            project.archived_at.is_some(),
            project.token_ttl_secs,
            self.clock.now(),
        ))
    }
}

/// `kid (alg), …` for the audit log.
fn kids(list: &[KeySummary]) -> String {
    list.iter()
        .map(|k| format!("{} ({})", k.kid, k.alg))
        .collect::<Vec<_>>()
        .join(", ")
}
