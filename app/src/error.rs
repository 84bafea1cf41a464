//! The error every console server function returns. It crosses the wire as
//! JSON, so it carries only what a person may read.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConsoleError {
    /// Bad input in one field; nothing was changed.
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{message}")]
    Conflict { field: String, message: String },
    #[error("Incorrect email or password.")]
    InvalidCredentials,
    #[error("Too many failed attempts. Try again in {retry_after_secs} seconds.")]
    Throttled { retry_after_secs: u64 },
    #[error("Your session has ended. Log in again to continue.")]
    Unauthenticated,
    #[error("You do not have permission to do that.")]
    Forbidden,
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The request never got a proper answer (network, refused, garbled).
    #[error("{message}")]
    Transport { message: String },
}

impl ConsoleError {
    /// The form field the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ConsoleError::Invalid { field, .. } | ConsoleError::Conflict { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ConsoleError::Invalid { .. } => 422,
            ConsoleError::Conflict { .. } => 409,
            ConsoleError::InvalidCredentials | ConsoleError::Unauthenticated => 401,
            ConsoleError::Throttled { .. } => 429,
            ConsoleError::Forbidden => 403,
            ConsoleError::Internal | ConsoleError::Transport { .. } => 500,
        }
    }
}

impl FromServerFnError for ConsoleError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => ConsoleError::Invalid {
                field: String::new(),
                message: "The form was incomplete. Fill in every field and try again.".into(),
            },
            ServerFnErrorErr::Request(_) => ConsoleError::Transport {
                message: "Cannot reach Portcullis. Check your connection and try again.".into(),
            },
            // A refusal before the function ran (e.g. a cross-site request)
            // arrives as a body that is not ours.
            _ => ConsoleError::Transport {
                message: "The request was refused. Reload the page and try again.".into(),
            },
        }
    }
}
