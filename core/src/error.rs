//! The domain's one error type. Each edge maps it to its answers in one
//! place: the console's `ConsoleError`, the OAuth endpoints' `OAuthError`,
//! the management API's `ManageError` and the reference APIs' `ApiError`.

/// Which user-supplied field a validation error refers to.
pub type Field = &'static str;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input in one field, named as the form or body names it.
    #[error("{message}")]
    Invalid { field: Field, message: String },
    /// The request as a whole is refused, no one field being wrong (a
    /// password changed here instead of on the Security page): 422.
    #[error("{0}")]
    Refused(String),
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
    /// One field conflicts with what exists (a name taken): 409.
    #[error("{message}")]
    Conflict { field: Field, message: String },
    /// The item's state refuses a well-formed request (a retired client,
    /// an archived or full project): 409, not 422.
    #[error("{0}")]
    StateConflict(String),
    #[error("not found")]
    NotFound,
    #[error("your role does not allow this")]
    Forbidden,
    /// Signed in, but a second factor must be set up first.
    #[error("set up two-factor authentication first")]
    SecondFactorRequired,
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
    /// An operator's setting or file cannot be used (the master key, the
    /// database or Redis URL, scopes.toml, the secret-report keys): the
    /// message says which and how to mend it.
    #[error("setup: {0}")]
    Setup(String),
    /// A key, signature or sealed value that cannot be made or used.
    #[error("cryptography: {0}")]
    Crypto(String),
    /// Password hashing failed (argon2, or its worker pool).
    #[error("password hashing: {0}")]
    Hashing(String),
    /// Anything else that should not happen.
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

    /// The item's state refuses the request: [`Error::StateConflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        Error::StateConflict(message.into())
    }

    /// The request as a whole is refused: [`Error::Refused`].
    pub fn refused(message: impl Into<String>) -> Self {
        Error::Refused(message.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
