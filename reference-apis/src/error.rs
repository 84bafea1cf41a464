//! The reference APIs' domain error, and its answers (the shared JSON
//! format of `portcullis_contract::answers`) in one place.

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
                tracing::warn!("a reference API call found no free database connection in time");
                ApiError::Busy
            }
            Error::Database(e) => {
                tracing::error!(error = %e, "database error in a reference API call");
                ApiError::Internal
            }
        }
    }
}
