//! The domain's one error type. Each edge maps it to its answers in one
//! place: the console's `ConsoleError`, the OAuth endpoints' `OAuthError`,
//! the management API's `ManageError` and the reference APIs' `ApiError`.

/// Which user-supplied field a validation error refers to.
pub type Field = &'static str;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{message}")]
    Invalid { field: Field, message: String },
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("incorrect email or password")]
    InvalidCredentials,
    /// A wrong, used or malformed second-factor code.
    #[error("that code is not right")]
    InvalidCode,
    /// The signed-in state this needs is gone (e.g. a pending log-in timed out).
    #[error("not signed in")]
    Unauthenticated,
    #[error("too many failed attempts; retry in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// Every password hasher is taken and the queue is full.
    #[error("the server is busy; retry in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error("{message}")]
    Conflict { field: Field, message: String },
    #[error("not found")]
    NotFound,
    #[error("your role does not allow this")]
    Forbidden,
    /// OAuth client authentication failed (unknown id, wrong secret, or a
    /// client that may not get tokens): one answer for all.
    #[error("client authentication failed")]
    InvalidClient,
    #[error("{0}")]
    InvalidScope(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: Field, message: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            message: message.into(),
        }
    }

    /// The request is well formed but the item's state refuses it (a
    /// retired client, an archived project, a full project): 409, not 422.
    pub fn conflict(message: impl Into<String>) -> Self {
        Error::Conflict {
            field: "",
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
