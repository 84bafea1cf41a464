//! What an HTTP API of Portcullis promises its callers, each promise stated
//! once so the OpenAPI document and the server cannot disagree:
//!
//! - [`text`]: the rules of names, notes and lines (the console's forms,
//!   the management API and the reference APIs keep the same ones), each a
//!   check and the JSON Schema pattern that says the same;
//! - [`fields`]: a field's rule as an API states it (a schema for
//!   `#[schemars(schema_with = …)]` and its check, worded for a caller);
//! - [`operations`]: an operation declared once (verb, path, scope, how it
//!   is documented) for its route, its scope check and its document;
//! - [`answers`]: the JSON error answers and the body and query extractors
//!   whose refusals use them; [`only_possible_ids`] for paths.
//!
//! A leaf: no domain, no database. The management API (in the server) and
//! the reference APIs depend on it with the `http` feature; the domain
//! (portcullis-core) takes [`text`] alone. The reference APIs need nothing
//! else of Portcullis but the gate (`make test` checks that with
//! `cargo tree`).

#[cfg(feature = "http")]
pub mod answers;
#[cfg(feature = "http")]
pub mod fields;
#[cfg(feature = "http")]
pub mod operations;
#[cfg(feature = "http")]
mod paths;
pub mod text;

#[cfg(feature = "http")]
pub use answers::{ApiError, Body, Params};
#[cfg(feature = "http")]
pub use operations::{ApiRoutes, Doc, Operation, Verb};
#[cfg(feature = "http")]
pub use paths::{not_found, only_possible_ids};

/// Bad input in one field, named as the body or query names it, with a
/// message for the caller. Each API's domain error takes it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Invalid {}

#[cfg(feature = "http")]
impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::Invalid {
            field: e.field.into(),
            message: e.message,
        }
    }
}
