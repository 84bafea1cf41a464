//! The console session: who is signed in, since when, last seen when.
//!
//! tower-sessions stores it and expires idle cookies; the idle and absolute
//! limits are also checked here against the injectable clock, and the
//! membership is re-read on every request so a removed member is out at once.

use portcullis_core::{clock::Epoch, PendingLogIn, Principal, Staff};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::state::AppState;
use crate::error::ConsoleError;

const KEY: &str = "portcullis.auth";
/// A log-in whose password was right, waiting for its second factor.
const PENDING_KEY: &str = "portcullis.pending";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub user_id: String,
    /// Empty for support staff, who belong to no account.
    pub account_id: String,
    pub created_at: Epoch,
    pub last_seen: Epoch,
    #[serde(default)]
    pub staff: bool,
    /// The user's session epoch at sign-in: a password change or reset
    /// moves it on, and this session ends unless it made the change.
    #[serde(default)]
    pub epoch: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    log_in: PendingLogIn,
    next: String,
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
                user_id: principal.user_id().to_owned(),
                account_id: principal.account_id().to_owned(),
                created_at: now,
                last_seen: now,
                staff: false,
                epoch: principal.session_epoch(),
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
                user_id: staff.user_id().to_owned(),
                account_id: String::new(),
                created_at: now,
                last_seen: now,
                staff: true,
                epoch: staff.session_epoch(),
            },
        )
        .await?;
    Ok(())
}

/// The live session record after the time limits, touching `last_seen`
/// when `touch` (a request that is activity); `None` (and the session
/// ended) when it has timed out.
async fn live_record(
    session: &Session,
    state: &AppState,
    touch: bool,
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
    if touch && record.last_seen != now {
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
    staff_of(session, state, true).await
}

/// [`current_staff`] and [`current_principal`] for a request that is not
/// activity (a live stream opening again): the idle timer is not renewed.
pub async fn current_quietly(
    session: &Session,
    state: &AppState,
) -> Result<(Option<Staff>, Option<Principal>), ConsoleError> {
    if let Some(staff) = staff_of(session, state, false).await? {
        return Ok((Some(staff), None));
    }
    Ok((None, principal_of(session, state, false).await?))
}

async fn staff_of(
    session: &Session,
    state: &AppState,
    touch: bool,
) -> Result<Option<Staff>, ConsoleError> {
    match live_record(session, state, touch).await? {
        Some(r) if r.staff => match state.accounts.staff(&r.user_id).await? {
            Some(s) if s.session_epoch() == r.epoch => Ok(Some(s)),
            _ => {
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
    principal_of(session, state, true).await
}

async fn principal_of(
    session: &Session,
    state: &AppState,
    touch: bool,
) -> Result<Option<Principal>, ConsoleError> {
    let Some(record) = live_record(session, state, touch).await? else {
        return Ok(None);
    };
    // Account pages and functions refuse staff sessions.
    if record.staff {
        return Ok(None);
    }
    let principal = state
        .accounts
        .principal(&record.user_id, &record.account_id)
        .await?
        .filter(|p| p.session_epoch() == record.epoch);
    if principal.is_none() {
        end_session(session).await?;
    }
    Ok(principal)
}

/// Carries this session on under the epoch a password change moved to
/// (under a fresh id), while the user's other sessions end.
pub async fn keep_after_password_change(session: &Session, epoch: i64) -> Result<(), ConsoleError> {
    let Some(mut record) = session.get::<SessionRecord>(KEY).await? else {
        return Err(ConsoleError::Unauthenticated);
    };
    record.epoch = epoch;
    session.cycle_id().await?;
    session.insert(KEY, record).await?;
    Ok(())
}

/// Holds a log-in at its second step, under a fresh session id.
pub async fn start_pending_log_in(
    session: &Session,
    log_in: PendingLogIn,
    next: String,
) -> Result<(), ConsoleError> {
    session.cycle_id().await?;
    session.remove_value(KEY).await?;
    session
        .insert(PENDING_KEY, Pending { log_in, next })
        .await?;
    Ok(())
}

/// The log-in waiting for its second factor, and where it was going.
pub async fn pending_log_in(
    session: &Session,
) -> Result<Option<(PendingLogIn, String)>, ConsoleError> {
    Ok(session
        .get::<Pending>(PENDING_KEY)
        .await?
        .map(|p| (p.log_in, p.next)))
}

/// Keeps the waiting log-in's count of wrong codes (same session id).
pub async fn keep_pending_log_in(
    session: &Session,
    log_in: PendingLogIn,
    next: String,
) -> Result<(), ConsoleError> {
    session
        .insert(PENDING_KEY, Pending { log_in, next })
        .await?;
    Ok(())
}

pub async fn clear_pending_log_in(session: &Session) -> Result<(), ConsoleError> {
    session.remove_value(PENDING_KEY).await?;
    Ok(())
}
