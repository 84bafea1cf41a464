//! Public keys a partner hosts at a `jwks_uri`, for `private_key_jwt`
//! clients that rotate keys on their own side. Fetched by the server's
//! [`KeyFetcher`] (with the address checks of outbound calls), cached per
//! URL for five minutes, and fetched again early only when an assertion
//! names a `kid` the cached set lacks, at most once every five seconds: a
//! stream of assertions with made-up `kid`s cannot make this server hammer
//! the partner's host, and a partner's new key works within seconds.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::client_keys::ClientKeys;

/// Cached keys are used this long before they are fetched again.
pub const FRESH_FOR: Duration = Duration::from_secs(300);
/// An unknown `kid` triggers a fetch only if the last one is this old.
pub const REFETCH_AFTER: Duration = Duration::from_secs(5);

/// Fetches a document over HTTP(S); the server's implementation refuses
/// addresses the operator does not allow and bounds time and size.
pub trait KeyFetcher: Send + Sync {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;
}

/// Keys fetched more than this long ago without a successful fetch since
/// are not used: a partner whose host stays down cannot keep a key it
/// meant to withdraw alive.
pub const USABLE_FOR: Duration = Duration::from_secs(3600);

#[derive(Default)]
struct Cached {
    keys: Option<Arc<ClientKeys>>,
    /// The last successful fetch.
    fetched_ok: Option<Instant>,
    /// When the last attempt ended, successful or not.
    tried: Option<Instant>,
}

/// One URL: what is known of it, and a lock held while it is fetched (so
/// one fetch serves every waiting caller; a fresh copy is read without it).
#[derive(Default)]
struct Slot {
    cached: Mutex<Cached>,
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
pub struct RemoteKeys {
    fetcher: Option<Arc<dyn KeyFetcher>>,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    issuers: Mutex<HashMap<String, Arc<IssuerSlot>>>,
}

/// URLs (and issuers) cached at most, beyond which those unused for an
/// hour are forgotten.
const CACHED_MAX: usize = 4096;

/// A workload identity issuer's `jwks_uri` is found by discovery again
/// after this long.
pub const DISCOVERY_FRESH_FOR: Duration = Duration::from_secs(3600);

/// One issuer's discovered `jwks_uri`, and a lock held while discovering.
#[derive(Default)]
struct IssuerSlot {
    /// The `jwks_uri`, when it was found, and when discovery last ran.
    cached: Mutex<(Option<String>, Option<Instant>, Option<Instant>)>,
    fetching: tokio::sync::Mutex<()>,
}

/// What to do with the copy at hand.
enum Need {
    /// Fresh enough, and it has the kid asked for (or none was).
    Nothing,
    /// It lacks the kid: fetch if nobody is fetching, else use it as is.
    Kid,
    /// Never fetched, or older than [`FRESH_FOR`]: fetch (wait for one).
    Refresh,
}

impl RemoteKeys {
    pub fn new(fetcher: Arc<dyn KeyFetcher>) -> Self {
        Self {
            fetcher: Some(fetcher),
            slots: Mutex::default(),
            issuers: Mutex::default(),
        }
    }

    /// The keys of a workload identity issuer (OpenID Connect Discovery
    /// 1.0 §4: its `jwks_uri`), for a token naming `kid`. Discovery runs
    /// again after [`DISCOVERY_FRESH_FOR`], or after [`REFETCH_AFTER`]
    /// when it failed; the keys are cached as a `jwks_uri` client's are.
    pub async fn issuer_keys(&self, issuer: &str, kid: Option<&str>) -> Option<Arc<ClientKeys>> {
        let slot = {
            let mut issuers = self.issuers.lock().unwrap_or_else(|p| p.into_inner());
            if !issuers.contains_key(issuer) && issuers.len() >= CACHED_MAX {
                issuers.retain(|_, s| {
                    let c = s.cached.lock().unwrap_or_else(|p| p.into_inner());
                    c.2.is_some_and(|at| at.elapsed() < USABLE_FOR)
                });
            }
            issuers.entry(issuer.to_owned()).or_default().clone()
        };
        let fresh = |c: &(Option<String>, Option<Instant>, Option<Instant>)| {
            let found = c.1.is_some_and(|at| at.elapsed() < DISCOVERY_FRESH_FOR);
            let tried_lately = c.2.is_some_and(|at| at.elapsed() < REFETCH_AFTER);
            (found || tried_lately).then(|| c.0.clone())
        };
        let known = fresh(&slot.cached.lock().unwrap_or_else(|p| p.into_inner()));
        let jwks_uri = match known {
            Some(uri) => uri,
            None => {
                let _fetching = slot.fetching.lock().await;
                let again = fresh(&slot.cached.lock().unwrap_or_else(|p| p.into_inner()));
                match again {
                    Some(uri) => uri,
                    None => {
                        let found = self.discover(issuer).await;
                        let mut c = slot.cached.lock().unwrap_or_else(|p| p.into_inner());
                        c.2 = Some(Instant::now());
                        match found {
                            Ok(uri) => {
                                c.0 = Some(uri);
                                c.1 = c.2;
                            }
                            // The last jwks_uri found stays in use; its keys
                            // expire on their own (USABLE_FOR).
                            Err(e) => {
                                tracing::warn!(issuer, error = %e, "workload identity issuer discovery failed")
                            }
                        }
                        c.0.clone()
                    }
                }
            }
        }?;
        self.keys(&jwks_uri, kid).await
    }

    /// The `jwks_uri` of `issuer`'s discovery document, which must name
    /// `issuer` exactly (OpenID Connect Discovery 1.0 §4.3).
    pub async fn discover(&self, issuer: &str) -> Result<String, String> {
        let fetcher = self
            .fetcher
            .as_ref()
            .ok_or_else(|| "this server fetches no keys".to_owned())?;
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let text = fetcher.fetch(&url).await?;
        let doc: serde_json::Value = serde_json::from_str(&text)
            .map_err(|_| format!("{url} does not answer a JSON discovery document"))?;
        match doc.get("issuer").and_then(|v| v.as_str()) {
            Some(named) if named == issuer => {}
            Some(named) => {
                let named: String = named.chars().take(200).collect();
                return Err(format!(
                    "its discovery document names the issuer {named:?}: use exactly that"
                ));
            }
            None => return Err(format!("{url} names no issuer")),
        }
        doc.get("jwks_uri")
            .and_then(|v| v.as_str())
            .filter(|u| u.len() <= 2000)
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .map(str::to_owned)
            .ok_or_else(|| format!("{url} names no jwks_uri"))
    }

    /// Discovers `issuer` and fetches its keys now, saying why they cannot
    /// be used, if they cannot (when a trust is set, so a typo is caught
    /// then).
    pub async fn probe_issuer(&self, issuer: &str) -> Result<ClientKeys, String> {
        let jwks_uri = self.discover(issuer).await?;
        self.probe(&jwks_uri).await
    }

    fn slot(&self, url: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if !slots.contains_key(url) && slots.len() >= CACHED_MAX {
            // URLs come from tenants (and from issuers' discovery
            // documents): forget the ones nobody used within the hour.
            slots.retain(|_, s| {
                let c = s.cached.lock().unwrap_or_else(|p| p.into_inner());
                c.tried.is_some_and(|at| at.elapsed() < USABLE_FOR)
            });
        }
        slots.entry(url.to_owned()).or_default().clone()
    }

    /// The keys at `url` for an assertion naming `kid` (if it names one).
    /// `None` when there are none to use (the failure is logged).
    pub async fn keys(&self, url: &str, kid: Option<&str>) -> Option<Arc<ClientKeys>> {
        let slot = self.slot(url);
        let (need, tried) = {
            let c = slot.cached.lock().unwrap_or_else(|p| p.into_inner());
            let fresh = c.fetched_ok.is_some_and(|at| at.elapsed() < FRESH_FOR);
            let lacks_kid = match (&c.keys, kid) {
                (Some(keys), Some(kid)) => !keys.summaries().iter().any(|k| k.kid == kid),
                (None, _) => true,
                _ => false,
            };
            let may_retry = c.tried.is_none_or(|at| at.elapsed() >= REFETCH_AFTER);
            let need = match (fresh, lacks_kid && may_retry) {
                (true, false) => Need::Nothing,
                (true, true) => Need::Kid,
                (false, _) if may_retry => Need::Refresh,
                (false, _) => Need::Nothing,
            };
            (need, c.tried)
        };
        let _fetching = match need {
            Need::Nothing => return Self::usable(&slot),
            // Someone is fetching already: the copy at hand will do.
            Need::Kid => match slot.fetching.try_lock() {
                Ok(guard) => guard,
                Err(_) => return Self::usable(&slot),
            },
            Need::Refresh => slot.fetching.lock().await,
        };
        // Another caller may have fetched while this one waited.
        let done_meanwhile = slot.cached.lock().unwrap_or_else(|p| p.into_inner()).tried != tried;
        if !done_meanwhile {
            let fetched = self.fetch(url).await;
            let mut c = slot.cached.lock().unwrap_or_else(|p| p.into_inner());
            c.tried = Some(Instant::now());
            match fetched {
                Ok(Ok(keys)) => {
                    c.keys = Some(Arc::new(keys));
                    c.fetched_ok = c.tried;
                }
                // The partner published a set with no key we can use: it
                // withdrew its keys, so none is used from now on.
                Ok(Err(e)) => {
                    tracing::warn!(url, error = %e, "a client's JWK Set holds no usable key");
                    c.keys = None;
                    c.fetched_ok = c.tried;
                }
                // Unreachable: the keys at hand stay usable for a while.
                Err(e) => tracing::warn!(url, error = %e, "could not fetch a client's JWK Set"),
            }
        }
        Self::usable(&slot)
    }

    /// The keys at hand, unless the last good fetch is too old.
    fn usable(slot: &Slot) -> Option<Arc<ClientKeys>> {
        let c = slot.cached.lock().unwrap_or_else(|p| p.into_inner());
        c.keys
            .clone()
            .filter(|_| c.fetched_ok.is_some_and(|at| at.elapsed() < USABLE_FOR))
    }

    /// Fetches `url` now and says why it is unusable, if it is (when the
    /// URL is set, so a typo is caught then, not at the first sign-in).
    pub async fn probe(&self, url: &str) -> Result<ClientKeys, String> {
        self.fetch(url).await?.map_err(|e| e.to_string())
    }

    /// The outer error: the document could not be had; the inner: it was
    /// had but holds no usable key.
    async fn fetch(&self, url: &str) -> Result<crate::Result<ClientKeys>, String> {
        let fetcher = self
            .fetcher
            .as_ref()
            .ok_or_else(|| "this server fetches no keys".to_owned())?;
        let text = fetcher.fetch(url).await?;
        Ok(ClientKeys::from_remote(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const KEY_A: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

    struct Counting(AtomicUsize, &'static str);

    impl KeyFetcher for Counting {
        fn fetch<'a>(
            &'a self,
            _url: &'a str,
        ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>> {
            self.0.fetch_add(1, Ordering::Relaxed);
            let body = format!(r#"{{"keys":[{}]}}"#, self.1);
            Box::pin(async move { Ok(body) })
        }
    }

    #[tokio::test]
    async fn unknown_kids_refetch_at_most_every_five_seconds() {
        let fetcher = Arc::new(Counting(AtomicUsize::new(0), KEY_A));
        let keys = RemoteKeys::new(fetcher.clone());
        let url = "https://partner.example/jwks.json";
        assert!(keys.keys(url, Some("a")).await.is_some());
        assert!(keys.keys(url, Some("a")).await.is_some());
        assert!(keys.keys(url, None).await.is_some());
        assert_eq!(fetcher.0.load(Ordering::Relaxed), 1, "cached");
        for _ in 0..10 {
            keys.keys(url, Some("made-up")).await;
        }
        assert_eq!(
            fetcher.0.load(Ordering::Relaxed),
            1,
            "within 5 s of the last fetch"
        );
    }
}
