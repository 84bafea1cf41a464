//! What a writer appends to the change feed, in its own transaction: the
//! kind of thing that changed and its id. It uses nothing of the rest of
//! the feed (which applies the rows to memory), so anything that writes
//! can record without depending on what reads.

use crate::clock::Epoch;
use crate::error::Result;
use crate::store;

/// What changed; the target id says which row to re-read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Created, narrowed, retired, revoked, expired or deleted.
    Client,
    /// Created, archived, re-set (token lifetime, bucket).
    Project,
    /// A token id revoked before its expiry.
    RevokedToken,
    /// A key added (rotation) or retired.
    SigningKey,
    /// A member removed from an account (`account_id/user_id`). Nothing of
    /// it is held in memory (sessions read the membership per request); it
    /// is in the feed for those who do hold it.
    Member,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Project => "project",
            Self::RevokedToken => "revoked_token",
            Self::SigningKey => "signing_key",
            Self::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "client" => Self::Client,
            "project" => Self::Project,
            "revoked_token" => Self::RevokedToken,
            "signing_key" => Self::SigningKey,
            "member" => Self::Member,
            _ => return None,
        })
    }
}

/// Appends `changes` in the caller's transaction, for writers that hold
/// nothing in memory themselves (the CLI, team changes); every node's feed
/// applies them after the commit.
pub async fn record(
    tx: &mut sqlx::AnyConnection,
    changes: &[(ChangeKind, &str)],
    now: Epoch,
) -> Result<()> {
    for (kind, target) in changes {
        store::changes::append(tx, kind.as_str(), target, now).await?;
    }
    Ok(())
}
