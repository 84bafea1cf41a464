//! An account's members and its open invitations, as listed.

use serde::Serialize;

use crate::clock::Epoch;

/// A member of an account, with the role they hold there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub joined_at: Epoch,
}

/// An invitation not yet taken up (its link token is never kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Invite {
    pub id: String,
    pub role: String,
    pub created_at: Epoch,
    pub expires_at: Epoch,
}
