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

#[derive(Default)]
struct Cached {
    keys: Option<Arc<ClientKeys>>,
    fetched: Option<Instant>,
}

#[derive(Default)]
pub struct RemoteKeys {
    fetcher: Option<Arc<dyn KeyFetcher>>,
    /// One slot per URL; its lock is held while that URL is fetched, so
    /// callers waiting on it use the one answer.
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Cached>>>>,
}

impl RemoteKeys {
    pub fn new(fetcher: Arc<dyn KeyFetcher>) -> Self {
        Self {
            fetcher: Some(fetcher),
            slots: Mutex::default(),
        }
    }

    /// The keys at `url` for an assertion naming `kid` (if it names one).
    /// `None` when they cannot be had (the failure is logged).
    pub async fn keys(&self, url: &str, kid: Option<&str>) -> Option<Arc<ClientKeys>> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.entry(url.to_owned()).or_default().clone()
        };
        let mut cached = slot.lock().await;
        let age = cached.fetched.map(|at| at.elapsed());
        let stale = age.is_none_or(|a| a >= FRESH_FOR);
        let lacks_kid = match (&cached.keys, kid) {
            (Some(keys), Some(kid)) => !keys.summaries().iter().any(|k| k.kid == kid),
            (None, _) => true,
            _ => false,
        };
        let may_refetch = age.is_none_or(|a| a >= REFETCH_AFTER);
        if stale || (lacks_kid && may_refetch) {
            cached.fetched = Some(Instant::now());
            match self.fetch(url).await {
                Ok(keys) => cached.keys = Some(Arc::new(keys)),
                // A failed refresh keeps the keys it had: the partner's
                // host being down for a minute does not lock its workload out.
                Err(e) => tracing::warn!(url, error = %e, "could not fetch a client's JWK Set"),
            }
        }
        cached.keys.clone()
    }

    /// Fetches `url` now and says why it is unusable, if it is (when the
    /// URL is set, so a typo is caught then, not at the first sign-in).
    pub async fn probe(&self, url: &str) -> Result<ClientKeys, String> {
        self.fetch(url).await
    }

    async fn fetch(&self, url: &str) -> Result<ClientKeys, String> {
        let fetcher = self
            .fetcher
            .as_ref()
            .ok_or_else(|| "this server fetches no keys".to_owned())?;
        let text = fetcher.fetch(url).await?;
        ClientKeys::from_remote(&text).map_err(|e| e.to_string())
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
