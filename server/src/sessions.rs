//! Console sessions in the database, behind a cookie that scripts cannot
//! read and other sites do not send.

use std::time::Duration;

use portcullis_core::Db;
use tower_sessions::cookie::SameSite;
use tower_sessions::{session_store::ExpiredDeletion, Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;

pub const COOKIE: &str = "portcullis_session";
/// Over https the `__Host-` prefix pins the cookie to this exact host.
pub const SECURE_COOKIE: &str = "__Host-portcullis_session";

/// The session layer. The store's own table is created here (idempotent):
/// its shape belongs to tower-sessions, not to our migrations. Also starts
/// the task that sweeps expired sessions out every five minutes.
pub async fn layer(
    db: &Db,
    secure: bool,
    idle: Duration,
) -> Result<SessionManagerLayer<SqliteStore>, sqlx::Error> {
    let store = SqliteStore::new(db.clone());
    store.migrate().await?;
    tokio::spawn(
        store
            .clone()
            .continuously_delete_expired(Duration::from_secs(300)),
    );
    let idle = time::Duration::try_from(idle).unwrap_or(time::Duration::minutes(30));
    Ok(SessionManagerLayer::new(store)
        .with_name(if secure { SECURE_COOKIE } else { COOKIE })
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle)))
}
