//! Access tokens (RFC 9068 JWTs): client authentication, minting, checking,
//! introspection and revocation. The token endpoint and the console's
//! "mint a test token" both call [`Issuer::mint`].

mod check;
mod client_auth;

use std::sync::Arc;

use crate::catalogue::Catalogue;
pub use crate::client_assertion::AssertionKind;
use crate::clock::Clock;
use crate::dpop_nonce::DpopNonces;
use crate::error::{Error, Result};
use crate::feed::Feed;
use crate::ids::thread_random_bytes;
use crate::keyring::Keyring;
use crate::limits::{Decision, RateLimiter};
use crate::master_key::MasterKey;
use crate::registry::{ClientEntry, ProjectEntry, Registry};
use crate::remote_keys::{KeyFetcher, RemoteKeys};
use crate::shared_limits::SharedLimits;
use crate::used_once::UsedOnce;
use portcullis_gate::usage::{Event as UsageEvent, Tally};

use portcullis_gate::cache::VerifiedTokens;
/// The claims of every access token we mint, why a token is refused, and
/// the verification itself are the gate's: one code path for both.
pub use portcullis_gate::token::{Claims, Confirmation, Rejected, CLOCK_LEEWAY_SECS};

#[derive(Debug, Clone)]
pub struct Minted {
    pub access_token: String,
    pub expires_in: i64,
    pub claims: Claims,
}

pub struct Issuer {
    issuer: String,
    keyring: Arc<Keyring>,
    registry: Arc<Registry>,
    catalogue: Arc<Catalogue>,
    master: Arc<MasterKey>,
    clock: Arc<dyn Clock>,
    feed: Arc<Feed>,
    limiter: Arc<RateLimiter>,
    verified: VerifiedTokens,
    /// Client assertions' `jti` values, each good once on every node.
    used_once: UsedOnce,
    /// Keys partners host at a `jwks_uri`.
    remote_keys: RemoteKeys,
    /// Server-provided DPoP nonces, when the operator turned them on.
    dpop_nonces: Option<DpopNonces>,
    /// Whether the in-process gates want nonces of their own (RFC 9449 §9).
    gate_dpop_nonces: bool,
    /// Compared against when the client id is unknown, so that an unknown id
    /// and a wrong secret cost the same.
    decoy_hash: [u8; 32],
    /// This node's use not yet in the database (see [`crate::usage_totals`]);
    /// the in-process gates count into it too.
    usage: Arc<Tally>,
    /// Daily token quotas: this node's leases of the day's tokens.
    quotas: crate::quotas::Quotas,
}

impl Issuer {
    pub fn new(
        issuer: String,
        catalogue: Arc<Catalogue>,
        master: Arc<MasterKey>,
        clock: Arc<dyn Clock>,
        feed: Arc<Feed>,
        limiter: Arc<RateLimiter>,
    ) -> Self {
        let decoy_hash = master.secret_hash("portcullis-decoy");
        let used_once = UsedOnce::new(feed.db().clone(), None);
        let quotas = crate::quotas::Quotas::new(feed.db().clone(), clock.clone());
        Self {
            used_once,
            remote_keys: RemoteKeys::default(),
            dpop_nonces: None,
            gate_dpop_nonces: false,
            issuer,
            keyring: feed.keyring().clone(),
            registry: feed.registry().clone(),
            catalogue,
            master,
            clock,
            feed,
            limiter,
            verified: VerifiedTokens::default(),
            decoy_hash,
            usage: Arc::new(Tally::new()),
            quotas,
        }
    }

    /// This node's use not yet written (tokens here, calls at its
    /// in-process gates): [`crate::usage_totals::UsageTotals`] writes it.
    pub fn usage(&self) -> &Arc<Tally> {
        &self.usage
    }

    /// Shares the once-only values (assertion `jti`s) through Redis, as
    /// the limits are, instead of the database.
    pub fn with_shared_limits(mut self, shared: Option<Arc<SharedLimits>>) -> Self {
        if shared.is_some() {
            self.used_once = UsedOnce::new(self.feed.db().clone(), shared);
        }
        self
    }

    /// Fetches the keys of `jwks_uri` clients with `fetcher`.
    pub fn with_key_fetcher(mut self, fetcher: Arc<dyn KeyFetcher>) -> Self {
        self.remote_keys = RemoteKeys::new(fetcher);
        self
    }

    /// Requires server-provided nonces in DPoP proofs at the token
    /// endpoint (RFC 9449 §8).
    pub fn with_dpop_nonces(mut self, on: bool) -> Self {
        self.dpop_nonces = on.then(|| crate::dpop_nonce::for_token_endpoint(&self.master));
        self
    }

    pub fn dpop_nonces(&self) -> Option<&DpopNonces> {
        self.dpop_nonces.as_ref()
    }

    /// The in-process gates want nonces of their own when `on`.
    pub fn with_gate_dpop_nonces(mut self, on: bool) -> Self {
        self.gate_dpop_nonces = on;
        self
    }

    /// The nonces the in-process gate of `api` requires, when the operator
    /// turned gate nonces on (RFC 9449 §9; a key of its own, see
    /// [`crate::dpop_nonce::for_gate`]).
    pub fn gate_dpop_nonces(&self, api: &str) -> Option<DpopNonces> {
        self.gate_dpop_nonces
            .then(|| crate::dpop_nonce::for_gate(&self.master, api))
    }

    pub fn remote_keys(&self) -> &RemoteKeys {
        &self.remote_keys
    }

    /// Charges one request to the project's rate-limit bucket.
    pub async fn charge(&self, project: &ProjectEntry) -> Decision {
        self.limiter
            .charge(
                &project.id,
                project.rate_limit,
                std::time::Instant::now(),
                self.clock.now(),
            )
            .await
    }

    /// The projects' buckets, charged by the token endpoint and by every
    /// in-process gate.
    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.limiter
    }

    /// One token of the client's project's daily quota, if it has one;
    /// `Some` when the day's quota is used up (a refusal, counted as a 429
    /// in the usage totals).
    pub async fn take_quota(
        &self,
        client: &ClientEntry,
    ) -> Result<Option<crate::quotas::Exhausted>> {
        let now = self.clock.now();
        let project = self
            .registry
            .usable(client, now)
            .map_err(|_| Error::InvalidClient)?;
        let Some(quota) = project.daily_token_quota else {
            return Ok(None);
        };
        // Without the database the quota cannot be counted: the token is
        // minted anyway (logged), as the token endpoint keeps working from
        // memory when the database is down; a quota is a budget, not a
        // security boundary.
        let exhausted = match self
            .quotas
            .take(&project.account_id, &project.id, quota)
            .await
        {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, project_id = %project.id, "daily token quota not counted: minting anyway");
                None
            }
        };
        if exhausted.is_some() {
            self.usage.count(&project.id, "", UsageEvent::Limited, now);
        }
        Ok(exhausted)
    }

    /// Charges the client's project for one token request.
    pub async fn charge_client(&self, client: &ClientEntry) -> Result<Decision> {
        let now = self.clock.now();
        let project = self
            .registry
            .usable(client, now)
            .map_err(|_| Error::InvalidClient)?;
        let decision = self.charge(&project).await;
        if !decision.allowed {
            self.usage.count(&project.id, "", UsageEvent::Limited, now);
        }
        Ok(decision)
    }

    /// The scopes a token request asks for, checked against the client's.
    pub fn requested_scopes(
        &self,
        client: &ClientEntry,
        requested: Option<&str>,
    ) -> Result<Vec<String>> {
        parse_scope_request(requested, &client.scopes)
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// The audience of tokens for `api_id`: issuer + the API's base path.
    pub fn audience(&self, base_path: &str) -> String {
        format!("{}{}", self.issuer.trim_end_matches('/'), base_path)
    }

    /// Mints a token carrying exactly the requested scopes, each of which
    /// must be granted to the client. An absent or empty request is refused:
    /// callers name the scopes they need.
    pub fn mint(&self, client: &ClientEntry, requested: Option<&str>) -> Result<Minted> {
        self.mint_bound(client, requested, None)
    }

    /// A DPoP proof's `jti` (RFC 9449 §11.1) seen for the first time on
    /// any node within the proof's window.
    pub async fn first_proof_use(&self, proof: &portcullis_gate::dpop::Proof) -> Result<bool> {
        self.used_once
            .first_use(
                "dpop_proof",
                &proof.jkt,
                &proof.jti,
                proof.remember_until,
                self.clock.now(),
            )
            .await
    }

    /// [`Issuer::mint`], bound to the DPoP key with this RFC 7638
    /// thumbprint when one is given (RFC 9449 §6.1: `cnf.jkt`).
    #[tracing::instrument(name = "mint", level = "debug", skip_all, fields(client_id = %client.id, bound = jkt.is_some()))]
    pub fn mint_bound(
        &self,
        client: &ClientEntry,
        requested: Option<&str>,
        jkt: Option<&str>,
    ) -> Result<Minted> {
        let now = self.clock.now();
        let project = self
            .registry
            .usable(client, now)
            .map_err(|_| Error::InvalidClient)?;
        if project.keys_only && jkt.is_none() {
            // RFC 9449 §5.2's dpop_bound_access_tokens, for the project.
            return Err(Error::Refused(
                "This project is keys only: its tokens are DPoP-bound. Send a DPoP proof (RFC 9449) with the token request.".into(),
            ));
        }
        let scopes = parse_scope_request(requested, &client.scopes)?;
        let api = self.catalogue.api(&project.api_id).ok_or_else(|| {
            Error::Setup(format!(
                "project {} uses api {:?}, which scopes.toml no longer defines",
                project.id, project.api_id
            ))
        })?;
        let key = self.keyring.signer(api.signing_alg).ok_or_else(|| {
            Error::Crypto(format!(
                "no active {} signing key",
                api.signing_alg.as_str()
            ))
        })?;
        let exp = match client.expires_at {
            Some(at) => (now + project.token_ttl_secs).min(at),
            None => now + project.token_ttl_secs,
        };
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: client.id.to_string(),
            client_id: client.id.to_string(),
            aud: self.audience(&api.base_path),
            iat: now,
            nbf: None,
            exp,
            jti: hex::encode(thread_random_bytes::<16>()),
            scope: scopes.join(" "),
            account_id: client.account_id.to_string(),
            project_id: client.project_id.to_string(),
            cnf: jkt.map(|jkt| Confirmation {
                jkt: jkt.to_owned(),
            }),
        };
        let json = serde_json::to_vec(&claims)
            .map_err(|e| Error::Crypto(format!("claims to JSON: {e}")))?;
        let access_token = key.sign(&json)?;
        client.usage.minted(now, &claims.scope);
        self.usage
            .count(&client.project_id, &client.id, UsageEvent::Minted, now);
        Ok(Minted {
            access_token,
            expires_in: exp - now,
            claims,
        })
    }
}

/// Revoked token ids held at most per client; past it, a revocation revokes
/// every token the client was issued so far.
pub const REVOKED_IDS_PER_CLIENT_MAX: i64 = 1_000;

/// RFC 6749 §3.3 scope-token characters.
fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// The sorted, unique scopes of a request, each granted to the client.
pub fn parse_scope_request<S: AsRef<str>>(
    requested: Option<&str>,
    granted: &[S],
) -> Result<Vec<String>> {
    let requested = requested.unwrap_or("").trim_matches(' ');
    if requested.is_empty() {
        let names: Vec<&str> = granted.iter().map(AsRef::as_ref).collect();
        return Err(Error::InvalidScope(format!(
            "name the scopes this token needs in the scope parameter; this client may ask for: {}",
            names.join(" ")
        )));
    }
    let mut scopes = Vec::new();
    for token in requested.split(' ').filter(|t| !t.is_empty()) {
        if !is_scope_token(token) {
            return Err(Error::InvalidScope(
                "scope must be scope names separated by single spaces".into(),
            ));
        }
        if !granted.iter().any(|g| g.as_ref() == token) {
            return Err(Error::InvalidScope(format!(
                "scope {token:?} is not granted to this client"
            )));
        }
        scopes.push(token.to_owned());
    }
    scopes.sort();
    scopes.dedup();
    Ok(scopes)
}

#[cfg(test)]
mod tests;
