//! Checking tokens we minted: signature, time, revocation and the
//! client's standing ([`Issuer::check`]), RFC 7662 introspection by a
//! client of the token's own project, and RFC 7009 revocation.

use std::sync::Arc;

use super::{Claims, Issuer, Rejected, REVOKED_IDS_PER_CLIENT_MAX};
use crate::error::Result;
use crate::feed::ChangeKind;
use crate::registry::{ClientEntry, ProjectEntry};
use crate::store;

impl Issuer {
    /// Checks signature, type, issuer, time, revocation and the client's
    /// standing; returns the claims of a token that is good now.
    pub fn check(&self, token: &str) -> Result<Arc<Claims>, Rejected> {
        self.check_standing(token).map(|(claims, _)| claims)
    }

    /// The claims of a token good now, and its client's project (found
    /// while checking the client's standing, so callers need not look again).
    fn check_standing(&self, token: &str) -> Result<(Arc<Claims>, Arc<ProjectEntry>), Rejected> {
        let claims = self.verify_signature(token)?;
        let now = self.clock.now();
        portcullis_gate::token::check_time(&claims, now, 0)?;
        if self.registry.is_revoked(&claims.jti) {
            return Err(Rejected::Revoked);
        }
        let client = self
            .registry
            .client(&claims.client_id)
            .filter(|c| *c.account_id == *claims.account_id && *c.project_id == *claims.project_id)
            .ok_or(Rejected::ClientUnusable)?;
        if client.revoked_before.is_some_and(|at| claims.iat <= at) {
            return Err(Rejected::Revoked);
        }
        let project = self
            .registry
            .usable(&client, now)
            .map_err(|_| Rejected::ClientUnusable)?;
        Ok((claims, project))
    }

    /// Signature, header and issuer only: what a token says, if it is ours.
    /// A token that verified once is remembered (tokens are reused for
    /// their whole life), so a resource server pays for ECDSA once per
    /// token, not per call; time, revocation and standing are still checked
    /// on every call by the callers.
    fn verify_signature(&self, token: &str) -> Result<Arc<Claims>, Rejected> {
        if let Some(claims) = self.verified.get(token) {
            return Ok(claims);
        }
        let claims = Arc::new(self.verify_signature_uncached(token)?);
        self.verified.insert(token, claims.clone());
        Ok(claims)
    }

    fn verify_signature_uncached(&self, token: &str) -> Result<Claims, Rejected> {
        portcullis_gate::token::verify(token, &self.keyring.verifiers(), &self.issuer)
    }

    /// RFC 7662: the claims of an active token of the caller's own project;
    /// `None` (inactive) for anything else, without saying why. A client is
    /// a least-privilege credential: it learns nothing of other projects'
    /// tokens, even in its own account. Resource servers that must look at
    /// any token of their API use a gate credential (`/gate/v1/introspect`).
    pub fn introspect(&self, caller: &ClientEntry, token: &str) -> Option<Arc<Claims>> {
        self.check(token)
            .ok()
            .filter(|c| *c.account_id == *caller.account_id && *c.project_id == *caller.project_id)
    }

    /// RFC 7009: revokes `token` if the caller is the client it was issued
    /// to. Anything else (unknown, expired, another client's) changes nothing
    /// and is not an error, so the answer reveals nothing about the token.
    pub async fn revoke(&self, caller: &ClientEntry, token: &str) -> Result<bool> {
        let Ok(claims) = self.verify_signature(token) else {
            return Ok(false);
        };
        let now = self.clock.now();
        if *claims.client_id != *caller.id
            || *claims.account_id != *caller.account_id
            || claims.exp <= now
        {
            return Ok(false);
        }
        let mut tx = self.feed.db().begin().await?;
        let held = store::revoked_tokens::live_for_client(&mut *tx, &claims.client_id, now).await?;
        if held >= REVOKED_IDS_PER_CLIENT_MAX {
            // Past the cap, memory stops growing: every token this client
            // was issued so far is refused instead (RFC 7009 §2.1 lets a
            // server revoke more than the one token).
            store::clients::revoke_issued_before(
                &mut *tx,
                &claims.account_id,
                &claims.client_id,
                claims.iat.max(now),
            )
            .await?;
            self.feed
                .commit(tx, &[(ChangeKind::Client, &claims.client_id)])
                .await?;
            tracing::warn!(client_id = %claims.client_id, "revoked-token cap reached: all of the client's tokens issued so far revoked");
            return Ok(true);
        }
        store::revoked_tokens::insert(
            &mut *tx,
            &claims.account_id,
            &claims.client_id,
            &claims.jti,
            claims.exp,
            now,
        )
        .await?;
        self.feed
            .commit(tx, &[(ChangeKind::RevokedToken, &claims.jti)])
            .await?;
        tracing::info!(client_id = %claims.client_id, jti = %claims.jti, "access token revoked");
        Ok(true)
    }
}
