//! Domain errors to console errors and HTTP statuses, in one place.

use std::future::Future;

use http::{header, HeaderValue, StatusCode};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use portcullis_core::Error;

use crate::error::ConsoleError;

impl From<Error> for ConsoleError {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid { field, message } => ConsoleError::Invalid {
                field: Some(field.into()),
                message,
            },
            Error::Refused(message) => ConsoleError::Invalid {
                field: None,
                message,
            },
            Error::EmailTaken => ConsoleError::Conflict {
                field: Some("email".into()),
                message: "An account with this email already exists. Log in instead.".into(),
            },
            Error::Conflict { field, message } => ConsoleError::Conflict {
                field: Some(field.into()),
                message,
            },
            Error::StateConflict(message) => ConsoleError::Conflict {
                field: None,
                message,
            },
            Error::Forbidden => ConsoleError::Forbidden,
            Error::SecondFactorRequired => ConsoleError::SecondFactorRequired,
            Error::InvalidScope(message) => ConsoleError::Invalid {
                field: Some("scopes".into()),
                message,
            },
            Error::InvalidClient => ConsoleError::Invalid {
                field: None,
                message: "This client cannot get tokens.".into(),
            },
            Error::InvalidCredentials => ConsoleError::InvalidCredentials,
            Error::InvalidCode => ConsoleError::Invalid {
                field: Some("code".into()),
                message: "That code is not right. Type the 6 digits your app shows now, or one of your recovery codes.".into(),
            },
            Error::Unauthenticated => ConsoleError::Unauthenticated,
            Error::Throttled { retry_after_secs } => ConsoleError::Throttled { retry_after_secs },
            Error::Busy { retry_after_secs } => ConsoleError::Busy { retry_after_secs },
            Error::NotFound => ConsoleError::NotFound,
            Error::Database(_)
            | Error::Migrate(_)
            | Error::Setup(_)
            | Error::Crypto(_)
            | Error::Hashing(_)
            | Error::Internal(_) => {
                // The detail goes to the log, never to the browser.
                tracing::error!(error = %e, "internal error in a console request");
                ConsoleError::Internal
            }
        }
    }
}

impl From<tower_sessions::session::Error> for ConsoleError {
    fn from(e: tower_sessions::session::Error) -> Self {
        tracing::error!(error = %e, "session store error");
        ConsoleError::Internal
    }
}

/// Runs a server function body and gives a failure its HTTP status (and
/// `Retry-After` when throttled).
pub async fn respond<T>(
    body: impl Future<Output = Result<T, ConsoleError>>,
) -> Result<T, ConsoleError> {
    let result = body.await;
    // A plain HTML form post (no JavaScript yet) is answered by Leptos with a
    // redirect back to the form carrying the error; a status would break it.
    let plain_form = use_context::<http::request::Parts>()
        .and_then(|p| p.headers.get(header::ACCEPT).cloned())
        .is_some_and(|a| a.to_str().is_ok_and(|a| a.contains("text/html")));
    if let (Err(e), Some(res), false) = (&result, use_context::<ResponseOptions>(), plain_form) {
        res.set_status(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        );
        if let ConsoleError::Throttled { retry_after_secs }
        | ConsoleError::Busy { retry_after_secs } = e
        {
            res.insert_header(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
    }
    result
}
