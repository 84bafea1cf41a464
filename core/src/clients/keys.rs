//! A key client's public keys, or a workload client's trust: replaced as
//! a whole, so a rotation is "the old and the new key" for a while, then
//! "the new key" alone. Tokens already minted are not touched: they stay
//! good until they expire.

use super::*;
use crate::workload_identity::WorkloadTrust;

impl Clients {
    /// What a key client stores for `input`, checked: pasted keys are
    /// read, and a `jwks_uri` must be one the operator lets this server
    /// fetch and must answer a usable JWK Set now.
    /// What can be judged of `input` without fetching anything or
    /// reading the client: bad input is a 422 whatever the state.
    pub(crate) fn check_keys_input(&self, input: KeysInput<'_>) -> Result<()> {
        let targets = self.key_targets;
        match input {
            KeysInput::Pasted(text) => ClientKeys::parse(text).map(drop),
            KeysInput::JwksUri(raw) => targets.check_url_for("jwks_uri", raw).map(drop),
            KeysInput::Workload(trust) => {
                WorkloadTrust::from_input(trust, self.issuer.issuer(), |issuer| {
                    targets.check_url_for("workload_issuer", issuer)
                })
                .map(drop)
            }
        }
    }

    pub(crate) async fn stored_keys(&self, input: KeysInput<'_>) -> Result<StoredKeys> {
        match input {
            KeysInput::Pasted(text) => Ok(StoredKeys {
                public_keys: Some(ClientKeys::parse(text)?.to_json()),
                ..StoredKeys::default()
            }),
            KeysInput::Workload(input) => {
                let targets = self.key_targets;
                let trust = WorkloadTrust::from_input(input, self.issuer.issuer(), |issuer| {
                    targets.check_url_for("workload_issuer", issuer)
                })?;
                if trust.jwks.is_none() {
                    self.issuer
                        .remote_keys()
                        .probe_issuer(&trust.issuer)
                        .await
                        .map_err(|e| {
                            Error::invalid(
                                "workload_issuer",
                                format!("Could not use that issuer's keys: {e}."),
                            )
                        })?;
                }
                Ok(StoredKeys {
                    workload_trust: Some(trust.to_json()),
                    ..StoredKeys::default()
                })
            }
            KeysInput::JwksUri(raw) => {
                let url = self.key_targets.check_url_for("jwks_uri", raw)?;
                self.issuer.remote_keys().probe(&url).await.map_err(|e| {
                    Error::invalid(
                        "jwks_uri",
                        format!("Could not use the JWK Set at that URL: {e}."),
                    )
                })?;
                Ok(StoredKeys {
                    jwks_uri: Some(url),
                    ..StoredKeys::default()
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
        self.check_keys_input(input)?;
        let wanted = match input {
            KeysInput::Workload(_) => store::clients::AUTH_WORKLOAD,
            _ => store::clients::AUTH_PRIVATE_KEY_JWT,
        };
        if row.auth_method == store::clients::AUTH_SECRET {
            return Err(Error::conflict(
                "This client authenticates with a secret: rotate it to a new client instead.",
            ));
        }
        if row.auth_method != wanted {
            return Err(Error::conflict(match wanted {
                store::clients::AUTH_WORKLOAD => {
                    "This client signs in with a public key: give it keys, not a workload trust."
                }
                _ => "This client trusts a workload identity issuer: change its trust, not keys.",
            }));
        }
        if row.disabled_at.is_some() {
            return Err(Error::conflict("This client is retired or revoked."));
        }
        let keys = self.stored_keys(input).await?;
        if keys.public_keys == row.public_keys
            && keys.jwks_uri == row.jwks_uri
            && keys.workload_trust == row.workload_trust
        {
            return Err(match wanted {
                store::clients::AUTH_WORKLOAD => Error::Conflict {
                    field: "workload",
                    message: "This is the trust the client already has.".into(),
                },
                _ => Error::Conflict {
                    field: "public_keys",
                    message: "These are the keys the client already has.".into(),
                },
            });
        }
        let describe = |k: &StoredKeys| match (&k.public_keys, &k.jwks_uri, &k.workload_trust) {
            (Some(json), _, _) => format!(
                "public keys {}",
                kids(
                    &ClientKeys::from_stored(json)
                        .map(|k| k.summaries())
                        .unwrap_or_default(),
                )
            ),
            (None, Some(url), _) => format!("public keys the JWK Set at {url}"),
            (None, None, Some(json)) => WorkloadTrust::from_stored(json)
                .map(|t| t.describe())
                .unwrap_or_default(),
            (None, None, None) => "none".into(),
        };
        let (before, after) = (
            describe(&StoredKeys {
                public_keys: row.public_keys.clone(),
                jwks_uri: row.jwks_uri.clone(),
                workload_trust: row.workload_trust.clone(),
            }),
            describe(&keys),
        );
        let mut tx = self.db.begin().await?;
        if !store::clients::set_credentials(
            &mut *tx,
            &by.account_id,
            client_id,
            wanted,
            &store::clients::Credentials {
                public_keys: keys.public_keys.as_deref(),
                jwks_uri: keys.jwks_uri.as_deref(),
                workload_trust: keys.workload_trust.as_deref(),
            },
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
            format!("{before} replaced by {after}"),
        )
        .await?;
        tracing::info!("client keys changed");
        let row = self.client_row(by, client_id).await?;
        self.view_of(&by.account_id, row, &project).await
    }
}

/// `kid (alg), …` for the audit log.
fn kids(list: &[KeySummary]) -> String {
    list.iter()
        .map(|k| format!("{} ({})", k.kid, k.alg))
        .collect::<Vec<_>>()
        .join(", ")
}
