//! The console session: who is signed in, since when, last seen when.
//!
//! tower-sessions stores it and expires idle cookies; the idle and absolute
//! limits are also checked here against the injectable clock, and the
//! membership is re-read on every request so a removed member is out at once.

use portcullis_core::{clock::Epoch, Principal};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::state::AppState;
use crate::error::ConsoleError;

const KEY: &str = "portcullis.auth";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub user_id: String,
    pub account_id: String,
    pub created_at: Epoch,
    pub last_seen: Epoch,
}

/// Signs `principal` in on this session, under a fresh session id so that
/// an id planted before log-in is worthless after it.
pub async fn start_session(
    session: &Session,
    principal: &Principal,
    now: Epoch,
) -> Result<(), ConsoleError> {
    session.cycle_id().await?;
    session
        .insert(
            KEY,
            SessionRecord {
                user_id: principal.user_id.clone(),
                account_id: principal.account_id.clone(),
                created_at: now,
                last_seen: now,
            },
        )
        .await?;
    Ok(())
}

/// Deletes the session server-side and clears the cookie.
pub async fn end_session(session: &Session) -> Result<(), ConsoleError> {
    session.flush().await?;
    Ok(())
}

/// The signed-in user, ending the session if it has timed out or the
/// membership is gone.
pub async fn current_principal(
    session: &Session,
    state: &AppState,
) -> Result<Option<Principal>, ConsoleError> {
    let Some(mut record) = session.get::<SessionRecord>(KEY).await? else {
        return Ok(None);
    };
    let now = state.accounts.clock().now();
    let policy = state.sessions;
    if now - record.created_at >= policy.absolute_secs || now - record.last_seen >= policy.idle_secs
    {
        end_session(session).await?;
        return Ok(None);
    }
    let Some(principal) = state
        .accounts
        .principal(&record.user_id, &record.account_id)
        .await?
    else {
        end_session(session).await?;
        return Ok(None);
    };
    if record.last_seen != now {
        record.last_seen = now;
        session.insert(KEY, record).await?;
    }
    Ok(Some(principal))
}
