//! The reference APIs' domain error, and its answers (the shared JSON
//! format of `portcullis_contract::answers`) in one place.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use portcullis_contract::{ApiError, Invalid};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input in one field: 422.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// One field conflicts with what exists (a name taken), or the state of
    /// the item refuses the request: 409.
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    #[error("not found")]
    NotFound,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl Error {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<Invalid> for Error {
    fn from(e: Invalid) -> Self {
        Error::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid { field, message } => ApiError::Invalid {
                field: field.into(),
                message,
            },
            Error::Conflict { field, message } => ApiError::Conflict {
                field: Some(field.into()),
                message,
            },
            Error::NotFound => ApiError::NotFound,
            Error::Database(sqlx::Error::PoolTimedOut) => {
                no_connection_in_time();
                ApiError::Busy
            }
            Error::Database(e) => {
                tracing::error!(error = %e, "database error in a reference API call");
                ApiError::Internal
            }
        }
    }
}

/// Calls answered 503 for want of a database connection since the last
/// warning, and when that was (Unix seconds).
static REFUSED: AtomicU64 = AtomicU64::new(0);
static WARNED_AT: AtomicU64 = AtomicU64::new(0);

/// One warning in ten seconds at most: a flood of refused calls must not
/// become a flood of log lines. sqlx times out the same way whether every
/// connection is busy or none can be opened (the database unreachable).
fn no_connection_in_time() {
    let refused = REFUSED.fetch_add(1, Ordering::Relaxed) + 1;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = WARNED_AT.load(Ordering::Relaxed);
    if now >= last + 10
        && WARNED_AT
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        REFUSED.fetch_sub(refused, Ordering::Relaxed);
        tracing::warn!(
            refused,
            "reference API calls answered 503: no database connection in time \
             (every one busy, or the database unreachable)"
        );
    }
}
