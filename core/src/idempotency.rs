//! `Idempotency-Key` for the management API's writes: a pipeline that
//! retries a create after a timeout gets the first answer again instead of
//! a second project or client. The first successful answer is kept for 24
//! hours with its secrets removed (a secret is shown once, so a replay says
//! `"client_secret": null`). A failed request keeps nothing: it changed
//! nothing, so running it again is safe.

use ring::digest;

use crate::clock::{Clock, Secs};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::store;

pub const KEEP_SECS: Secs = 24 * 3600;
/// Past the server's request timeout a first request that has not settled
/// never will (it was cut off, or its node died): after this much more the
/// key is free again. It is not freed sooner (say, when the caller hangs
/// up): the request may have committed its change by then, and a retry
/// would make it twice.
pub const RUNNING_MARGIN_SECS: Secs = 5;
const KEY_MAX: usize = 255;

/// What to do with a request that carries a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// First time: run it, then [`finish`] or [`abandon`].
    Fresh,
    /// Seen and answered: send this answer again.
    Replay { status: u16, body: String },
    /// The same key with a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

/// A key is 1 to 255 visible ASCII characters (a UUID, say).
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > KEY_MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(
            "Idempotency-Key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters, such as a UUID.",
        ));
    }
    Ok(())
}

pub fn request_hash(method: &str, path: &str, body: &[u8]) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for part in [method.as_bytes(), b"\n", path.as_bytes(), b"\n", body] {
        ctx.update(part);
    }
    hex::encode(ctx.finish())
}

/// The answer as kept: any `client_secret` or `signing_secret` replaced by null.
pub fn without_secrets(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(mut v) => {
            for field in ["client_secret", "signing_secret"] {
                if let Some(secret) = v.get_mut(field) {
                    *secret = serde_json::Value::Null;
                }
            }
            v.to_string()
        }
        Err(_) => body.to_owned(),
    }
}

/// `request_timeout_secs`: how long a request may run on this server.
pub async fn begin(
    db: &Db,
    clock: &dyn Clock,
    client_id: &str,
    key: &str,
    hash: &str,
    request_timeout_secs: Secs,
) -> Result<Begin> {
    check_key(key)?;
    let now = clock.now();
    let running_max = request_timeout_secs + RUNNING_MARGIN_SECS;
    store::idempotency::forget_stale(db, client_id, key, now - KEEP_SECS, now - running_max)
        .await?;
    if store::idempotency::claim(db, client_id, key, hash, now).await? {
        return Ok(Begin::Fresh);
    }
    let Some(seen) = store::idempotency::get(db, client_id, key).await? else {
        // Forgotten between the two statements: treat as in progress, and
        // the caller's retry finds it settled.
        return Ok(Begin::InProgress);
    };
    Ok(match seen {
        (h, _, _) if h != hash => Begin::Mismatch,
        (_, Some(status), Some(body)) => Begin::Replay {
            status: u16::try_from(status).unwrap_or(200),
            body,
        },
        _ => Begin::InProgress,
    })
}

pub async fn finish(db: &Db, client_id: &str, key: &str, status: u16, body: &str) -> Result<()> {
    store::idempotency::settle(
        db,
        client_id,
        key,
        i64::from(status),
        &without_secrets(body),
    )
    .await
}

pub async fn abandon(db: &Db, client_id: &str, key: &str) -> Result<()> {
    store::idempotency::release(db, client_id, key).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii() {
        assert!(check_key("9b2f6c1e-4d7a-4b8e-9f1a-2c3d4e5f6a7b").is_ok());
        for bad in ["", " ", "a b", "é", &"x".repeat(256)] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_kept_answer_has_no_secret() {
        let kept = without_secrets(r#"{"client":{"id":"pcl_1"},"client_secret":"pcs_x"}"#);
        assert!(!kept.contains("pcs_x"));
        assert!(kept.contains(r#""client_secret":null"#));
        let kept = without_secrets(r#"{"endpoint":{"id":"whe_1"},"signing_secret":"whsec_x"}"#);
        assert!(!kept.contains("whsec_x"));
        assert_eq!(without_secrets(r#"{"id":"prj_1"}"#), r#"{"id":"prj_1"}"#);
    }

    #[test]
    fn the_hash_covers_method_path_and_body() {
        let a = request_hash("POST", "/manage/v1/projects", b"{}");
        assert_ne!(a, request_hash("POST", "/manage/v1/projects", b"{ }"));
        assert_ne!(a, request_hash("POST", "/manage/v1/other", b"{}"));
        assert_eq!(a, request_hash("POST", "/manage/v1/projects", b"{}"));
    }
}
