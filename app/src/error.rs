//! The error every console server function returns. It crosses the wire as
//! JSON (`kind`, the variant's fields, and the human `message`), so it
//! carries only what a person may read.

use serde::{Deserialize, Serialize};
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConsoleError {
    /// Bad input, in the named field or (no field) in the request as a
    /// whole; nothing was changed.
    #[error("{message}")]
    Invalid {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
        message: String,
    },
    /// A field conflicts with what exists, or (no field) the item's state
    /// refuses the request.
    #[error("{message}")]
    Conflict {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
        message: String,
    },
    #[error("Incorrect email or password.")]
    InvalidCredentials,
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    Throttled { retry_after_secs: u64 },
    #[error("The server is busy. Try again in {retry_after_secs} seconds.")]
    Busy { retry_after_secs: u64 },
    #[error("Your session has ended. Log in again to continue.")]
    Unauthenticated,
    #[error("You do not have permission to do that.")]
    Forbidden,
    /// Signed in, but a second factor must be set up first (staff, or an
    /// account that requires it).
    #[error("Set up two-factor authentication on the Security page first.")]
    SecondFactorRequired,
    /// Missing, or belonging to another account: the same answer for both.
    #[error("That item does not exist, or you do not have access to it.")]
    NotFound,
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
                field.as_deref()
            }
            _ => None,
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ConsoleError::Invalid { .. } => 422,
            ConsoleError::Conflict { .. } => 409,
            ConsoleError::InvalidCredentials | ConsoleError::Unauthenticated => 401,
            ConsoleError::Throttled { .. } | ConsoleError::Busy { .. } => 429,
            ConsoleError::Forbidden | ConsoleError::SecondFactorRequired => 403,
            ConsoleError::NotFound => 404,
            ConsoleError::Internal | ConsoleError::Transport { .. } => 500,
        }
    }
}

/// The JSON form: the tagged variant plus its message, so a client without
/// our types (curl, a test) still reads a sentence.
#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(flatten)]
    error: ConsoleError,
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// The JSON body a server function answers `e` with (for a refusal made
/// before any function runs, as the role table's at the edge).
#[cfg(feature = "ssr")]
pub fn to_json(e: &ConsoleError) -> bytes::Bytes {
    use server_fn::Encodes;
    WireJson::encode(e).unwrap_or_default()
}

/// Encodes [`ConsoleError`] as [`Wire`] JSON.
pub struct WireJson;

impl server_fn::ContentType for WireJson {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl server_fn::FormatType for WireJson {
    const FORMAT_TYPE: server_fn::Format = server_fn::Format::Text;
}

impl server_fn::Encodes<ConsoleError> for WireJson {
    type Error = serde_json::Error;

    fn encode(e: &ConsoleError) -> Result<bytes::Bytes, Self::Error> {
        let message = match e {
            // Field errors already carry `message` as a field of their own.
            ConsoleError::Invalid { .. }
            | ConsoleError::Conflict { .. }
            | ConsoleError::Transport { .. } => None,
            other => Some(other.to_string()),
        };
        serde_json::to_vec(&Wire {
            error: e.clone(),
            message,
        })
        .map(bytes::Bytes::from)
    }
}

impl server_fn::Decodes<ConsoleError> for WireJson {
    type Error = serde_json::Error;

    fn decode(bytes: bytes::Bytes) -> Result<ConsoleError, Self::Error> {
        serde_json::from_slice::<Wire>(&bytes).map(|w| w.error)
    }
}

impl FromServerFnError for ConsoleError {
    type Encoder = WireJson;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => ConsoleError::Invalid {
                field: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use server_fn::{Decodes, Encodes};

    #[test]
    fn wire_form_has_kind_fields_and_message_and_round_trips() {
        for e in [
            ConsoleError::Throttled {
                retry_after_secs: 4,
            },
            ConsoleError::InvalidCredentials,
            ConsoleError::Invalid {
                field: Some("email".into()),
                message: "Enter an email.".into(),
            },
        ] {
            let bytes = WireJson::encode(&e).unwrap();
            let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(json["message"], e.to_string());
            assert!(json["kind"].is_string());
            assert_eq!(WireJson::decode(bytes).unwrap(), e);
        }
        let json: serde_json::Value = serde_json::from_slice(
            &WireJson::encode(&ConsoleError::Throttled {
                retry_after_secs: 4,
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(json["retry_after_secs"], 4);
        assert_eq!(json["kind"], "throttled");
    }
}
