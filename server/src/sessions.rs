//! Console sessions in the database, behind a cookie that scripts cannot
//! read and other sites do not send.

use std::time::Duration;

use axum::Router;
use portcullis_core::db::Backend;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use tower_sessions::cookie::SameSite;
use tower_sessions::{session_store::ExpiredDeletion, Expiry, SessionManagerLayer, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::error::StartupError;

pub const COOKIE: &str = "portcullis_session";
/// Over https the `__Host-` prefix pins the cookie to this exact host.
pub const SECURE_COOKIE: &str = "__Host-portcullis_session";

/// How sessions are kept and sent.
pub struct CookiePolicy {
    pub secure: bool,
    pub idle: Duration,
}

/// Wraps `router` in the session layer, with the store of the same database
/// as everything else (so every node sees every session). The store's own
/// table is created here (idempotent): its shape belongs to tower-sessions,
/// not to our migrations. Also starts the task that sweeps expired sessions
/// out every five minutes. The store needs its backend's own pool type: a
/// small second pool to the same database.
pub async fn wrap<S>(
    router: Router<S>,
    database_url: &str,
    policy: CookiePolicy,
) -> Result<Router<S>, StartupError>
where
    S: Clone + Send + Sync + 'static,
{
    Ok(match Backend::of_url(database_url)? {
        Backend::Sqlite => {
            let options: SqliteConnectOptions = database_url.parse()?;
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options.busy_timeout(Duration::from_secs(5)))
                .await?;
            let store = SqliteStore::new(pool);
            store.migrate().await?;
            router.layer(layer(store, policy))
        }
        Backend::Postgres => {
            let pool = PgPoolOptions::new()
                .max_connections(4)
                .connect(database_url)
                .await?;
            let store = PostgresStore::new(pool);
            store.migrate().await?;
            router.layer(layer(store, policy))
        }
    })
}

fn layer<T>(store: T, policy: CookiePolicy) -> SessionManagerLayer<T>
where
    T: SessionStore + ExpiredDeletion + Clone,
{
    tokio::spawn(
        store
            .clone()
            .continuously_delete_expired(Duration::from_secs(300)),
    );
    let idle = time::Duration::try_from(policy.idle).unwrap_or(time::Duration::minutes(30));
    SessionManagerLayer::new(store)
        .with_name(if policy.secure { SECURE_COOKIE } else { COOKIE })
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(policy.secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
}
