//! The console session: who is signed in, since when, last seen when.
//!
//! tower-sessions stores it and expires idle cookies; the idle and absolute
//! limits are also checked here against the injectable clock, and the
//! membership is re-read on every request so a removed member is out at once.

use portcullis_core::{clock::Epoch, Principal, Staff};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::state::AppState;
use crate::error::ConsoleError;

const KEY: &str = "portcullis.auth";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub user_id: String,
    /// Empty for support staff, who belong to no account.
    pub account_id: String,
    pub created_at: Epoch,
    pub last_seen: Epoch,
    #[serde(default)]
    pub staff: bool,
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
                staff: false,
            },
        )
        .await?;
    Ok(())
}

/// Signs a support staff member in, under a fresh session id.
pub async fn start_staff_session(
    session: &Session,
    staff: &Staff,
    now: Epoch,
) -> Result<(), ConsoleError> {
    session.cycle_id().await?;
    session
        .insert(
            KEY,
            SessionRecord {
                user_id: staff.user_id.clone(),
                account_id: String::new(),
                created_at: now,
                last_seen: now,
                staff: true,
            },
        )
        .await?;
    Ok(())
}

/// The live session record after the time limits, touching `last_seen`;
/// `None` (and the session ended) when it has timed out.
async fn live_record(
    session: &Session,
    state: &AppState,
) -> Result<Option<SessionRecord>, ConsoleError> {
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
    if record.last_seen != now {
        record.last_seen = now;
        session.insert(KEY, record.clone()).await?;
    }
    Ok(Some(record))
}

/// The signed-in staff member; `None` for account users and signed-out
/// visitors.
pub async fn current_staff(
    session: &Session,
    state: &AppState,
) -> Result<Option<Staff>, ConsoleError> {
    match live_record(session, state).await? {
        Some(r) if r.staff => match state.accounts.staff(&r.user_id).await? {
            Some(s) => Ok(Some(s)),
            None => {
                end_session(session).await?;
                Ok(None)
            }
        },
        _ => Ok(None),
    }
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
    let Some(record) = live_record(session, state).await? else {
        return Ok(None);
    };
    // Account pages and functions refuse staff sessions.
    if record.staff {
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
    Ok(Some(principal))
}
