//! Human passwords: the clear text (a type that never reaches a log line
//! or an error message), hashed with argon2id at OWASP ASVS 5 strength, run
//! off the async runtime and capped in concurrency so a burst of log-ins
//! cannot starve it.

use std::fmt;
use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// A human password in clear, alive only between the request and the hasher.
/// `Debug` prints only the type name, so `?password` in a span is harmless.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(clear: impl Into<String>) -> Self {
        Self(clear.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// 19 MiB, two passes, one lane: the ASVS 5 minimum for argon2id.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// How long a request waits for a free hasher before it gets 429.
    queue_wait: std::time::Duration,
    /// Verified against when the email is unknown, so that a wrong email
    /// costs the same time as a wrong password.
    decoy: Arc<str>,
}

fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| Error::Hashing(format!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(clear: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(clear.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Hashing(format!("argon2 hash: {e}")))
}

fn verify_blocking(clear: &str, stored: &str) -> Result<bool> {
    let parsed =
        PasswordHash::new(stored).map_err(|e| Error::Hashing(format!("stored hash: {e}")))?;
    Ok(argon2()?.verify_password(clear.as_bytes(), &parsed).is_ok())
}

/// Length rules (counted in characters, not bytes). No composition rules:
/// ASVS 5 asks for length, not for symbols.
pub fn check_policy(password: &Password) -> Result<()> {
    let len = password.expose().chars().count();
    if len < MIN_LEN {
        return Err(Error::invalid(
            "password",
            format!("Use at least {MIN_LEN} characters."),
        ));
    }
    if len > MAX_LEN {
        return Err(Error::invalid(
            "password",
            format!("Use at most {MAX_LEN} characters."),
        ));
    }
    Ok(())
}

/// How long a request waits for a free hasher, by default.
const QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

impl PasswordHasher {
    /// `concurrency` argon2 computations may run at once (each holds 19 MiB).
    pub fn new(concurrency: usize) -> Result<Self> {
        let decoy = hash_blocking("portcullis decoy password, never a real one")?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            queue_wait: QUEUE_WAIT,
            decoy: decoy.into(),
        })
    }

    /// Sets how long a request may wait for a free hasher.
    pub fn with_queue_wait(mut self, wait: std::time::Duration) -> Self {
        self.queue_wait = wait;
        self
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        // A bounded queue: past a few seconds of waiting for a hasher, the
        // caller is told to come back (429) rather than pile up requests.
        let permit = tokio::time::timeout(self.queue_wait, self.permits.acquire()).await;
        let _permit = match permit {
            Ok(p) => p.map_err(|_| Error::Hashing("password hasher closed".into()))?,
            Err(_) => {
                tracing::warn!("password hashing queue full: a request was turned away");
                return Err(Error::Busy {
                    retry_after_secs: 2,
                });
            }
        };
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::Hashing(format!("password task: {e}")))?
    }

    pub async fn hash(&self, password: &Password) -> Result<String> {
        let clear = password.clone();
        self.run(move || hash_blocking(clear.expose())).await
    }

    pub async fn verify(&self, password: &Password, stored: &str) -> Result<bool> {
        let clear = password.clone();
        let stored = stored.to_owned();
        self.run(move || verify_blocking(clear.expose(), &stored))
            .await
    }

    /// Spend the time of one verification and fail.
    pub async fn verify_decoy(&self, password: &Password) -> Result<bool> {
        let clear = password.clone();
        let decoy = self.decoy.clone();
        self.run(move || verify_blocking(clear.expose(), &decoy).map(|_| false))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::new("correct horse battery staple");
        assert_eq!(format!("{p:?}"), "Password(..)");
    }

    #[tokio::test]
    async fn hash_is_argon2id_with_asvs_parameters_and_verifies() {
        let hasher = PasswordHasher::new(1).unwrap();
        let pw = Password::new("a sufficiently long one");
        let hash = hasher.hash(&pw).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains("sufficiently"));
        assert!(hasher.verify(&pw, &hash).await.unwrap());
        assert!(!hasher
            .verify(&Password::new("a sufficiently long two"), &hash)
            .await
            .unwrap());
        assert!(!hasher.verify_decoy(&pw).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_turns_requests_away_instead_of_piling_them_up() {
        let hasher = Arc::new(
            PasswordHasher::new(1)
                .unwrap()
                .with_queue_wait(std::time::Duration::from_millis(1)),
        );
        let pw = Password::new("a sufficiently long one");
        let tries: Vec<_> = (0..4)
            .map(|_| {
                let (h, pw) = (hasher.clone(), pw.clone());
                tokio::spawn(async move { h.verify_decoy(&pw).await })
            })
            .collect();
        let mut turned_away = 0;
        for t in tries {
            if let Err(Error::Busy { retry_after_secs }) = t.await.unwrap() {
                assert!(retry_after_secs > 0);
                turned_away += 1;
            }
        }
        assert!(
            turned_away >= 1,
            "one hasher, four at once, 1 ms of patience"
        );
    }

    #[test]
    fn policy_counts_characters() {
        assert!(check_policy(&Password::new("short")).is_err());
        assert!(check_policy(&Password::new("x".repeat(12))).is_ok());
        assert!(check_policy(&Password::new("é".repeat(12))).is_ok());
        assert!(check_policy(&Password::new("x".repeat(128))).is_ok());
        assert!(check_policy(&Password::new("x".repeat(129))).is_err());
    }
}
