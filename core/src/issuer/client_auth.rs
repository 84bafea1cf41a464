//! Client authentication for the token, introspection and revocation
//! endpoints: a secret, a signed assertion (RFC 7523 §2.2) or a workload's
//! platform token. Every failure is the same `InvalidClient`.

use std::sync::Arc;

use super::Issuer;
use crate::client_assertion::{self, AssertionKind};
use crate::error::{Error, Result};
use crate::registry::ClientEntry;
use crate::workload_identity::{self, WorkloadTrust};

impl Issuer {
    /// Checks a client's id and secret. Unknown id, wrong secret and a
    /// client that may not get tokens all give the same `InvalidClient`.
    // Spans on the hot path are at debug level: off in logs unless asked
    // for. The id is recorded once it names a client: what a caller sends
    // may be a secret in the wrong field.
    #[tracing::instrument(level = "debug", skip_all, fields(client_id = tracing::field::Empty))]
    pub fn authenticate(&self, client_id: &str, secret: &str) -> Result<Arc<ClientEntry>> {
        let client = self.registry.client(client_id);
        if client.is_some() {
            tracing::Span::current().record("client_id", client_id);
        }
        let hash = client.as_ref().map_or(&self.decoy_hash, |c| &c.secret_hash);
        let secret_ok = self.master.verify_secret(secret, hash);
        match client {
            // A key client has no secret, whatever is sent.
            Some(c) if secret_ok && c.keys.is_none() => {
                let now = self.clock.now();
                match self.registry.usable(&c, now) {
                    // A secret made in a race with "keys only" stays unused.
                    Ok(project) if project.keys_only => {
                        tracing::info!(client_id, "refused a secret in a keys-only project");
                        Err(Error::InvalidClient)
                    }
                    Ok(_) => Ok(c),
                    Err(why) => {
                        tracing::info!(client_id, ?why, "refused a client that cannot be used");
                        Err(Error::InvalidClient)
                    }
                }
            }
            _ => Err(Error::InvalidClient),
        }
    }

    /// `private_key_jwt` (RFC 7523 §2.2): the client named by `client_id`
    /// (or, without one, by the assertion's `sub`) if `assertion` is signed
    /// by one of its keys, is meant for one of `audiences`, and carries a
    /// `jti` seen for the first time on any node. Every refusal is the same
    /// `InvalidClient` as a wrong secret; the log says why.
    #[tracing::instrument(level = "debug", skip_all, fields(client_id = tracing::field::Empty, kind = ?kind))]
    pub async fn authenticate_assertion(
        &self,
        client_id: Option<&str>,
        kind: AssertionKind,
        assertion: &str,
        audiences: &[&str],
    ) -> Result<Arc<ClientEntry>> {
        let claimed = client_assertion::claimed_client(assertion);
        let Some(id) = client_id.or(claimed.as_deref()) else {
            return Err(Error::InvalidClient);
        };
        let refuse = |why: &dyn std::fmt::Display| {
            tracing::info!(client_id = id, %why, "client assertion refused");
            Error::InvalidClient
        };
        let Some(client) = self.registry.client(id) else {
            // Not its id: it names no client and may be anything.
            tracing::info!("client assertion refused: unknown client");
            return Err(Error::InvalidClient);
        };
        tracing::Span::current().record("client_id", id);
        if let Some(trust) = &client.workload {
            // The platform token's sub names the workload, not the client:
            // only a client_id says which client it is for.
            if client_id.is_none() {
                return Err(refuse(&"a workload client is named by client_id"));
            }
            // draft-ietf-oauth-spiffe-client-auth's type is for SVIDs.
            if kind == AssertionKind::Spiffe && trust.preset != workload_identity::Preset::Spiffe {
                return Err(refuse(
                    &"a jwt-spiffe assertion for a trust that is not SPIFFE",
                ));
            }
            return self.authenticate_workload(&client, trust, assertion).await;
        }
        if kind == AssertionKind::Spiffe {
            return Err(refuse(
                &"a jwt-spiffe assertion for a client that is no workload",
            ));
        }
        let keys = match (&client.jwks_uri, &client.keys) {
            (Some(url), _) => {
                let kid = portcullis_gate::jws::CompactJws::parse(assertion)
                    .ok()
                    .and_then(|j| j.header_str("kid").map(str::to_owned));
                self.remote_keys
                    .keys(url, kid.as_deref())
                    .await
                    .ok_or_else(|| refuse(&"the keys at its jwks_uri cannot be fetched"))?
            }
            (None, Some(keys)) => keys.clone(),
            (None, None) => return Err(refuse(&"the client authenticates with a secret")),
        };
        let now = self.clock.now();
        let asserted = client_assertion::check(assertion, id, &keys, audiences, now)
            .map_err(|why| refuse(&why))?;
        if let Err(why) = self.registry.usable(&client, now) {
            return Err(refuse(&format!("{why:?}")));
        }
        if !self
            .used_once
            .first_use("client_assertion", id, &asserted.jti, asserted.exp, now)
            .await?
        {
            return Err(refuse(&client_assertion::Refusal::Replayed));
        }
        Ok(client)
    }

    /// A workload identity client (see [`crate::workload_identity`]): the
    /// platform token must be signed by the trusted issuer's keys (found
    /// by discovery, or given), be meant for the trusted audience, be
    /// current and meet every condition. The workload is remembered as the
    /// client's last user and audited once per node.
    async fn authenticate_workload(
        &self,
        client: &Arc<ClientEntry>,
        trust: &WorkloadTrust,
        token: &str,
    ) -> Result<Arc<ClientEntry>> {
        let refuse = |why: &dyn std::fmt::Display| {
            tracing::info!(client_id = %client.id, %why, "workload token refused");
            Error::InvalidClient
        };
        let discovered;
        let keys = match (&trust.jwks, &client.keys) {
            (Some(_), Some(keys)) => keys,
            _ => {
                let kid = portcullis_gate::jws::CompactJws::parse(token)
                    .ok()
                    .and_then(|j| j.header_str("kid").map(str::to_owned));
                discovered = self
                    .remote_keys
                    .issuer_keys(&trust.issuer, kid.as_deref())
                    .await
                    .ok_or_else(|| refuse(&"the issuer's keys cannot be fetched"))?;
                &discovered
            }
        };
        // A trust stored before this server's issuer changed could name
        // another audience: only tokens meant for this server count.
        if !workload_identity::audience_names(&self.issuer, &trust.audience) {
            return Err(refuse(&"the trust's audience does not name this server"));
        }
        let now = self.clock.now();
        let workload =
            workload_identity::check(token, trust, keys, now).map_err(|why| refuse(&why))?;
        if let Err(why) = self.registry.usable(client, now) {
            return Err(refuse(&format!("{why:?}")));
        }
        let described = workload.describe();
        tracing::info!(client_id = %client.id, workload = %described, "workload signed in");
        client.usage.signed_in_as(described, now);
        Ok(client.clone())
    }
}
