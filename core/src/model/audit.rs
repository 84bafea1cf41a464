//! The audit log's entries, the filters a reader applies, and where a page
//! of them starts.

use serde::{Deserialize, Serialize};

use crate::clock::Epoch;

/// One thing that happened in an account, as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Entry {
    pub id: String,
    pub at: Epoch,
    pub actor_kind: String,
    pub actor_label: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub project_id: Option<String>,
    pub client_ip: Option<String>,
    pub detail: String,
}

/// What a reader of the log narrows it to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Exact actor label (an email), case-insensitive.
    pub actor: Option<String>,
    pub action: Option<String>,
    pub project_id: Option<String>,
    /// Inclusive bounds, epoch seconds.
    pub from: Option<Epoch>,
    pub to: Option<Epoch>,
}

/// Where the next page starts: strictly older than this (at, id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: Epoch,
    pub id: String,
}
